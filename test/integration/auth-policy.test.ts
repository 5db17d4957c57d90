// channel_binding and require_auth against real PostgreSQL 18 (one role per pg_hba method: scram-sha-256,
// md5, password, trust), against recording stand-ins that show what the client sends inside TLS, and
// through an interceptor holding a trusted certificate. PostgreSQL's own log says how each login was
// authenticated; the stand-ins say that a refused request got no password bytes at all.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { authObservation } from '../../src/connect/auth-guard.js'
import pgDropIn from '../../src/connect/pg.js'
import { runDoctor, type StepResult } from '../../src/doctor/run-doctor.js'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startFakeTlsServer, type FakeMode, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { AUTH_LOGINS, AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate, type ServerCredentials } from '../../lab/pki.js'
import type { HbaMethod } from '../../lab/postgres-server.js'
import { startTlsInterceptor, type TlsInterceptor } from '../../lab/tls-interceptor.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { FakeCredential } from '../../lab/fake-credential.js'

let lab: Lab
let cert: ServerCredentials
let interceptor: TlsInterceptor
const fakes: FakeTlsServer[] = []

before(async () => {
  lab = await startLab(['authMethods'])
  cert = await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] })
  interceptor = await startTlsInterceptor(lab.server('authMethods'), cert)
})
after(async () => {
  await Promise.all(fakes.map((f) => f.close()))
  await interceptor?.close()
  await lab?.stop()
})

/** Options for a lab login by `method`'s role, reached by name through hostaddr. */
function as(method: HbaMethod, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('authMethods').port, database: 'postgres',
    user: AUTH_LOGINS[method].user, password: AUTH_LOGINS[method].password, sslrootcert: lab.rootPath, env: {}, learn: 'off',
    connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS, ...extra,
  }
}

/** Connects and ends; the outcome as data: 'ok', or the AzurePgError's code. */
async function attempt(options: AzurePgPoolOptions): Promise<{ outcome: string; client: pg.Client; error?: Error }> {
  const client = await createAzurePgClient(options)
  try {
    await client.connect()
    await client.query('SELECT 1')
    return { outcome: 'ok', client }
  } catch (err) {
    return { outcome: (err as { code?: string }).code ?? String(err), client, error: err as Error }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** The server's "connection authenticated" lines about `user`, waiting briefly for its log to arrive. */
async function authenticatedLines(user: string, atLeast: number): Promise<string[]> {
  const find = (): string[] => lab.server('authMethods').log().split('\n').filter((l) => l.includes('connection authenticated') && l.includes(`"${user}"`))
  for (let i = 0; i < 50 && find().length < atLeast; i++) await new Promise((r) => setTimeout(r, 20))
  return find()
}

describe('per pg_hba method, what each setting answers and what it refuses', () => {
  // Rows: a setting; columns: the server asks for SCRAM, MD5, a cleartext password, nothing (trust).
  const table: Array<[AzurePgPoolOptions, [string, string, string, string]]> = [
    [{}, ['ok', 'ok', 'ok', 'ok']],
    [{ require_auth: 'scram-sha-256' }, ['ok', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED']],
    [{ require_auth: 'md5' }, ['AUTH_METHOD_REFUSED', 'ok', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED']],
    [{ require_auth: 'password' }, ['AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'ok', 'AUTH_METHOD_REFUSED']],
    [{ require_auth: 'none' }, ['AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'ok']],
    [{ require_auth: 'scram-sha-256,none' }, ['ok', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'ok']],
    [{ require_auth: '!password,!md5' }, ['ok', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'ok']],
    [{ require_auth: '!none' }, ['ok', 'ok', 'ok', 'AUTH_METHOD_REFUSED']],
    [{ channel_binding: 'require' }, ['ok', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED', 'AUTH_METHOD_REFUSED']],
    [{ channel_binding: 'disable' }, ['ok', 'ok', 'ok', 'ok']],
  ]
  const methods: HbaMethod[] = ['scram-sha-256', 'md5', 'password', 'trust']

  for (const [setting, expected] of table) {
    it(`${JSON.stringify(setting)}: ${expected.join(', ')}`, async () => {
      const got: string[] = []
      for (const method of methods) {
        const before = (await authenticatedLines(AUTH_LOGINS[method].user, 0)).length
        const { outcome, client, error } = await attempt(as(method, setting))
        got.push(outcome)
        const seen = authObservation(client)
        // What the server asked for, as the client saw it, is the pg_hba method.
        assert.equal(seen?.asked, method === 'trust' ? 'none' : method, `${method}: asked`)
        if (outcome === 'AUTH_METHOD_REFUSED') {
          const words = { 'scram-sha-256': /offered SCRAM|asked for SCRAM-SHA-256/, md5: /asked for an MD5-hashed password/, password: /asked for a cleartext password/, trust: /let the client in without asking for any authentication/ }[method]
          assert.match(error?.message ?? '', words, method)
          assert.equal((error as { phase?: string }).phase, 'authentication')
          assert.doesNotMatch(errorText(error), new RegExp(AUTH_LOGINS[method].password), 'the password is in no part of the error')
          if (method !== 'trust') assert.equal(seen?.completed, false, `${method}: the client sent nothing`)
        } else {
          // PostgreSQL's own account of the login: the method its pg_hba line chose.
          const lines = await authenticatedLines(AUTH_LOGINS[method].user, before + 1)
          assert.match(lines[lines.length - 1] ?? '', new RegExp(`method=${method} `), `${method}: the server log`)
        }
      }
      assert.deepEqual(got, expected)
    })
  }
})

describe('channel binding with a real PostgreSQL 18', () => {
  it('prefer (the default) and require bind the SCRAM login (SCRAM-SHA-256-PLUS); disable does not', async () => {
    for (const [setting, mechanism, bound] of [[{}, 'SCRAM-SHA-256-PLUS', true], [{ channel_binding: 'require' as const }, 'SCRAM-SHA-256-PLUS', true], [{ channel_binding: 'disable' as const }, 'SCRAM-SHA-256', false]] as const) {
      const { outcome, client } = await attempt(as('scram-sha-256', setting))
      assert.equal(outcome, 'ok')
      const seen = authObservation(client)
      assert.deepEqual([seen?.mechanisms, seen?.mechanism, seen?.channelBound, seen?.completed], [['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'], mechanism, bound, true], JSON.stringify(setting))
    }
  })

  it('PostgreSQL itself refuses a bound login relayed by an interceptor holding a trusted certificate; an unbound one gets through', async () => {
    const through = (extra: AzurePgPoolOptions): AzurePgPoolOptions => as('scram-sha-256', { port: interceptor.port, ...extra })
    // The interceptor works: verified TLS cannot tell it from the server, and without binding the login is relayed.
    const unbound = await attempt(through({ channel_binding: 'disable' }))
    assert.equal(unbound.outcome, 'ok')
    for (const setting of [{}, { channel_binding: 'require' as const }]) {
      const { outcome, error, client } = await attempt(through(setting))
      assert.equal(outcome, 'AUTH_FAILED', JSON.stringify(setting))
      assert.match(error?.message ?? '', /bound to a TLS certificate that is not the server's own: .* The server said: SCRAM channel binding check failed\. It failed during authentication\.$/)
      assert.match((error as { hint?: string }).hint ?? '', /intercepts TLS/)
      assert.equal(authObservation(client)?.mechanism, 'SCRAM-SHA-256-PLUS')
    }
    assert.equal(interceptor.relayed(), 3)
    const log = lab.server('authMethods').log()
    assert.equal(log.match(/FATAL: {2}SCRAM channel binding check failed/g)?.length, 2, 'the server says so in its log, once per bound attempt')
  })
})

describe('what a refused request gets: nothing (recording stand-ins)', () => {
  /** A stand-in of `mode`, and the bytes the client sent it inside TLS after its startup message, per connection. */
  async function standIn(mode: FakeMode): Promise<{ port: number; after: (i: number) => Buffer; connections: () => number }> {
    const fake = await startFakeTlsServer(mode, cert)
    fakes.push(fake)
    return {
      port: fake.port,
      connections: () => fake.record.connections,
      after: (i) => {
        const all = fake.record.secret[i] ?? Buffer.alloc(0)
        return all.subarray(all.length >= 4 ? all.readInt32BE(0) : 0)
      },
    }
  }
  const against = (port: number, extra: AzurePgPoolOptions): AzurePgPoolOptions => as('password', { port, password: 'Recorded-Pa55word', ...extra })

  it('asked for a cleartext password: require_auth=scram-sha-256 and channel_binding=require send no byte, and never call the password function', async () => {
    const fake = await standIn('echo-password')
    let asked = 0
    const password = (): string => { asked++; return 'Recorded-Pa55word' }
    for (const setting of [{ require_auth: 'scram-sha-256' }, { channel_binding: 'require' as const }]) {
      const { outcome } = await attempt(against(fake.port, { ...setting, password }))
      assert.equal(outcome, 'AUTH_METHOD_REFUSED')
    }
    assert.deepEqual([fake.after(0).length, fake.after(1).length, asked], [0, 0, 0])
    // The stand-in does record a password when one is sent: the same server without the setting gets it.
    const control = await attempt(against(fake.port, { password }))
    assert.equal(control.outcome, 'AUTH_FAILED')
    assert.equal(asked, 1)
    assert.equal(fake.after(2).toString('latin1'), 'p\x00\x00\x00\x16Recorded-Pa55word\x00')
  })

  it('asked for an MD5 hash: require_auth=scram-sha-256 sends no byte; without it the hash goes out', async () => {
    const fake = await standIn('ask-md5')
    assert.equal((await attempt(against(fake.port, { require_auth: 'scram-sha-256' }))).outcome, 'AUTH_METHOD_REFUSED')
    assert.equal(fake.after(0).length, 0)
    assert.equal((await attempt(against(fake.port, {}))).outcome, 'AUTH_FAILED')
    assert.match(fake.after(1).toString('latin1'), /^p\x00\x00\x00\x28md5[0-9a-f]{32}\x00$/)
  })

  it('offered SCRAM without channel binding (as PgBouncer): channel_binding=require sends no SASL message; prefer says it could bind (gs2 "y")', async () => {
    const fake = await standIn('ask-scram-unbound')
    const refused = await attempt(against(fake.port, { channel_binding: 'require' }))
    assert.equal(refused.outcome, 'AUTH_METHOD_REFUSED')
    assert.match(refused.error?.message ?? '', /offered SCRAM without channel binding \(mechanisms: SCRAM-SHA-256\); channel_binding=require \(from option "channel_binding"\) accepts only a SCRAM login bound to the TLS session/)
    assert.match((refused.error as { hint?: string }).hint ?? '', /PgBouncer/)
    assert.equal(fake.after(0).length, 0)
    assert.equal((await attempt(against(fake.port, {}))).outcome, 'AUTH_FAILED')
    assert.match(fake.after(1).toString('latin1'), /^p....SCRAM-SHA-256\x00....y,,n=\*,r=/s)
    assert.equal(fake.connections(), 2)
  })
})

describe('a request node-postgres cannot parse', () => {
  it('GSSAPI: AUTH_METHOD_REFUSED naming it, nothing sent, instead of pg-protocol\'s uncaught exception', async () => {
    const fake = await startFakeTlsServer('ask-gss', cert)
    fakes.push(fake)
    let uncaught: unknown
    const onUncaught = (err: unknown): void => { uncaught = err }
    // node:test reports an uncaught exception as a failure of whatever runs; listening here names it instead.
    process.on('uncaughtException', onUncaught)
    try {
      for (const setting of [{}, { require_auth: 'scram-sha-256' }]) {
        const { outcome, error } = await attempt(as('password', { port: fake.port, ...setting }))
        assert.equal(outcome, 'AUTH_METHOD_REFUSED')
        assert.match(error?.message ?? '', /asked for GSSAPI authentication \(request 7\), which node-postgres cannot answer/)
      }
    } finally {
      process.removeListener('uncaughtException', onUncaught)
    }
    assert.equal(uncaught, undefined)
    const startupLength = (fake.record.secret[0] ?? Buffer.alloc(4)).readInt32BE(0)
    assert.equal(fake.record.secret[0]?.length, startupLength, 'only the startup message')
  })
})

describe('every way a client is made enforces the policy', () => {
  it('a pool\'s clients and azure-pg-tls/pg\'s Client, from a connection string', async () => {
    const pool = await createAzurePgPool(as('md5', { require_auth: 'scram-sha-256', max: 2 }))
    try {
      await expectAzureError(() => pool.connect(), 'AUTH_METHOD_REFUSED')
    } finally {
      await pool.end()
    }
    const port = lab.server('authMethods').port
    const { user, password } = AUTH_LOGINS.password
    const client = new pgDropIn.Client({
      connectionString: `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${port} dbname=postgres user=${user} password=${password} sslrootcert=${lab.rootPath} require_auth=scram-sha-256`,
      env: {},
    })
    await expectAzureError(() => client.connect(), 'AUTH_METHOD_REFUSED')
    await client.end()
  })

  it('Entra ID: the token goes as a cleartext password, so require_auth=password admits it; require_auth=scram-sha-256 is refused before any token is asked for', async () => {
    const { user, password } = AUTH_LOGINS.password
    // A stand-in credential whose "token" is what the lab's password role accepts: the server asks for it in cleartext, as Azure does.
    const credential = new FakeCredential(() => ({ token: password, expiresOnTimestamp: Date.now() + 3_600_000 }))
    const base = as('password', { password: undefined, user, entra: credential })
    const ok = await attempt({ ...base, require_auth: 'password' })
    assert.equal(ok.outcome, 'ok')
    assert.equal(authObservation(ok.client)?.asked, 'password')
    assert.equal(credential.calls, 1)
    await expectAzureError(() => createAzurePgClient({ ...base, require_auth: 'scram-sha-256' }), 'INVALID_CONFIG')
    await expectAzureError(() => createAzurePgClient({ ...base, channel_binding: 'require' }), 'INVALID_CONFIG')
    assert.equal(credential.calls, 1, 'no token was asked for')
  })
})

describe('the doctor reports the method the server asked for, and channel binding', () => {
  const check = async (method: HbaMethod, extra: AzurePgPoolOptions = {}): Promise<readonly StepResult[]> =>
    (await runDoctor({ options: as(method, extra), timeoutMs: LAB_CONNECT_TIMEOUT_MS, plaintextProbe: false })).steps

  it('SCRAM, bound: passes, says so, and suggests require_auth=scram-sha-256 and channel_binding=require until both are set', async () => {
    const steps = await check('scram-sha-256')
    assert.ok(steps[0]?.details.includes('authentication: channel_binding prefer, require_auth not set (any method)'), steps[0]?.details.join('\n'))
    const auth = steps.find((s) => s.step === 'authentication')
    assert.equal(auth?.status, 'pass')
    assert.deepEqual(auth?.details, [
      'the server asked for SCRAM-SHA-256 (offered: SCRAM-SHA-256-PLUS, SCRAM-SHA-256); channel binding used (SCRAM-SHA-256-PLUS)',
      'suggest: require_auth=scram-sha-256 and channel_binding=require: this server supports both, and with them no server (or interceptor holding a trusted certificate) can ask this client for its password another way or relay an unbound login',
    ])
    const strict = await check('scram-sha-256', { require_auth: 'scram-sha-256', channel_binding: 'require' })
    assert.ok(strict[0]?.details.includes('authentication: channel_binding require, require_auth scram-sha-256'))
    assert.deepEqual(strict.find((s) => s.step === 'authentication')?.details, ['the server asked for SCRAM-SHA-256 (offered: SCRAM-SHA-256-PLUS, SCRAM-SHA-256); channel binding used (SCRAM-SHA-256-PLUS)'])
    const unbound = await check('scram-sha-256', { channel_binding: 'disable' })
    assert.match(unbound.find((s) => s.step === 'authentication')?.details[0] ?? '', /; channel binding not used \(channel_binding=disable\)$/)
  })

  it('MD5, a cleartext password and trust log in with a warning and the fix; the report stays ok', async () => {
    const expected: Array<[HbaMethod, string, RegExp]> = [
      ['md5', 'the server asked for an MD5-hashed password', /^the server asked for an MD5-hashed password \(deprecated/],
      ['password', 'the server asked for a cleartext password (sent inside verified TLS)', /^the server asked for the password in cleartext/],
      ['trust', 'the server asked for no authentication (trust)', /^the server let this client in without asking/],
    ]
    for (const [method, line, reason] of expected) {
      const auth = (await check(method)).find((s) => s.step === 'authentication')
      assert.deepEqual([auth?.status, auth?.details], ['warn', [line]], method)
      assert.match(auth?.reason ?? '', reason)
      assert.match(auth?.fix ?? '', /scram-sha-256/)
    }
  })

  it('a refused method fails the login step with AUTH_METHOD_REFUSED and says what the server asked for', async () => {
    const steps = await check('md5', { require_auth: 'scram-sha-256' })
    const auth = steps.at(-1)
    assert.deepEqual([auth?.step, auth?.status, auth?.code, auth?.details], ['authentication', 'fail', 'AUTH_METHOD_REFUSED', ['the server asked for an MD5-hashed password']])
    assert.match(auth?.reason ?? '', /asked for an MD5-hashed password, which require_auth=scram-sha-256 \(from option "require_auth"\) does not allow/)
  })
})
