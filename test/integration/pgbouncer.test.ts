// Through a real PgBouncer (Debian's package) set up as Azure Flexible Server's built-in one: TLS required
// from clients, transaction pooling, SCRAM, in front of a lab PostgreSQL 18. Everything through the SDK's
// public API; PgBouncer's admin console is read only to see what PgBouncer saw.
import assert from 'node:assert/strict'
import type { TLSSocket } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { authObservation } from '../../src/connect/auth-guard.js'
import { forgetLearnedFacts } from '../../src/connect/learned-facts.js'
import { runDoctor } from '../../src/doctor/run-doctor.js'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startDelayProxy } from '../../lab/delay-proxy.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { startPgBouncer, type RunningPgBouncer } from '../../lab/pgbouncer.js'
import { createIntermediate, createRootCa, issueServerCertificate, type ServerCredentials } from '../../lab/pki.js'

const POOL_SIZE = 5

describe('through PgBouncer (client TLS required, transaction pooling, SCRAM)', () => {
  let lab: Lab | undefined
  let bouncerCert: ServerCredentials
  const started: RunningPgBouncer[] = []
  let bouncer: RunningPgBouncer
  let impostor: RunningPgBouncer

  before(async () => {
    lab = await startLab(['good'])
    const upstream = lab.server('good')
    const users = [LOGINS.flexible.user, LOGINS.single.user]
    bouncerCert = await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] })
    bouncer = await startPgBouncer({ upstream, tls: bouncerCert, users, upstreamCaPem: lab.root.pem, poolSize: POOL_SIZE })
    started.push(bouncer)
    const stranger = await createIntermediate(await createRootCa('Impostor Root CA'), 'Impostor Issuing CA')
    impostor = await startPgBouncer({ upstream, tls: await issueServerCertificate(stranger, { dnsNames: [AZURE_HOST] }), users, upstreamCaPem: lab.root.pem })
    started.push(impostor)
  })
  after(async () => {
    await Promise.all(started.map((b) => b.stop()))
    await lab?.stop()
  })

  const to = (b: RunningPgBouncer, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions => ({
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: b.port, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab?.rootPath, env: {}, ...extra,
  })
  const streamOf = (client: pg.Client): TLSSocket => (client as unknown as { connection: { stream: TLSSocket } }).connection.stream

  it('verify-full through it: the client leg is TLS, verified, with PgBouncer\'s certificate; PgBouncer sees a TLS client', async () => {
    const client = await createAzurePgClient({ ...to(bouncer), application_name: 'pgbouncer-tls-check' })
    await client.connect()
    try {
      const stream = streamOf(client)
      assert.equal(stream.encrypted, true)
      assert.equal(stream.authorized, true)
      const peer = stream.getPeerCertificate()
      assert.equal(peer.subject.CN, AZURE_HOST)
      // The certificate PgBouncer was given, not the one of the PostgreSQL behind it.
      assert.equal(peer.raw.toString('base64'), bouncerCert.leafPem.replace(/-----[^-]+-----|\s/g, ''))
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1)
      const clients = (await bouncer.admin('SHOW CLIENTS')).rows as Array<{ user: string; application_name: string; tls: string }>
      const mine = clients.filter((c) => c.application_name === 'pgbouncer-tls-check')
      assert.equal(mine.length, 1, JSON.stringify(clients))
      assert.equal(mine[0]?.user, LOGINS.flexible.user)
      assert.match(mine[0]?.tls ?? '', /^TLSv1\.[23]\//)
    } finally {
      await client.end()
    }
  })

  it('an impostor certificate on PgBouncer is refused (unknown CA)', async () => {
    const client = await createAzurePgClient(to(impostor))
    const err = await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')
    assert.equal(err.reason, 'unknown-ca')
    // The same PgBouncer setup with a lab certificate accepts: the refusal is about the certificate.
    const good = await createAzurePgClient(to(bouncer))
    await good.connect()
    await good.end()
  })

  it(`a pool of 50 clients, all busy at once, over a PgBouncer pool of ${POOL_SIZE}`, async () => {
    const pool = await createAzurePgPool({ ...to(bouncer), max: 50, application_name: 'pgbouncer-pool-check' })
    try {
      const clients = await Promise.all(Array.from({ length: 50 }, () => pool.connect()))
      try {
        const holding = (await bouncer.admin('SHOW CLIENTS')).rows.filter((c: { application_name: string }) => c.application_name === 'pgbouncer-pool-check')
        assert.equal(holding.length, 50, '50 client connections held open at PgBouncer')
        const results = await Promise.all(clients.map(async (c, i) =>
          (await c.query<{ pid: number; i: number }>('SELECT pg_backend_pid() AS pid, $1::int AS i, pg_sleep(0.02)', [i])).rows[0]!))
        assert.deepEqual(results.map((r) => r.i), Array.from({ length: 50 }, (_, i) => i))
        const backends = new Set(results.map((r) => r.pid))
        assert.ok(backends.size <= POOL_SIZE, `${backends.size} server backends served 50 clients`)
        const servers = (await bouncer.admin('SHOW SERVERS')).rows.filter((s: { user: string }) => s.user === LOGINS.flexible.user)
        assert.ok(servers.length <= POOL_SIZE, `PgBouncer opened ${servers.length} server connections`)
      } finally {
        for (const c of clients) c.release()
      }
    } finally {
      await pool.end()
    }
  })

  it('SCRAM through it: PgBouncer asks for SCRAM-SHA-256, and a wrong password is refused', async () => {
    const client = await createAzurePgClient(to(bouncer))
    const mechanisms: string[] = []
    ;(client as unknown as { connection: NodeJS.EventEmitter }).connection.on('authenticationSASL', (m: { mechanisms: string[] }) => mechanisms.push(...m.mechanisms))
    await client.connect()
    try {
      assert.deepEqual(mechanisms, ['SCRAM-SHA-256'])
      assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, LOGINS.flexible.user)
    } finally {
      await client.end()
    }
    const wrong = await createAzurePgClient(to(bouncer, { password: 'not-the-Pa55word' }))
    // PgBouncer words the refusal "SASL authentication failed" (SQLSTATE 08P01), not as PostgreSQL does.
    const err = await expectAzureError(() => wrong.connect(), 'AUTH_FAILED')
    assert.match(err.message, /SASL authentication failed/)
    assert.equal((err.cause as { code?: string }).code, '08P01')
    assert.doesNotMatch(err.message + err.hint, /not-the-Pa55word/)
  })

  it('channel_binding=require is refused clearly (PgBouncer 1.18 cannot bind); the default prefer and require_auth=scram-sha-256 log in', async () => {
    const bound = await createAzurePgClient(to(bouncer, { channel_binding: 'require' }))
    const err = await expectAzureError(() => bound.connect(), 'AUTH_METHOD_REFUSED')
    assert.match(err.message, /offered SCRAM without channel binding \(mechanisms: SCRAM-SHA-256\); channel_binding=require/)
    assert.match(err.hint, /PgBouncer/)
    assert.match(err.hint, /port 5432/)
    assert.deepEqual(authObservation(bound), {
      asked: 'scram-sha-256', mechanisms: ['SCRAM-SHA-256'], mechanism: undefined, completed: false, channelBound: false,
      refused: { asked: 'scram-sha-256', setting: 'channel_binding', what: 'offered SCRAM without channel binding (mechanisms: SCRAM-SHA-256)', scramWithoutBinding: true },
    })
    assert.doesNotMatch(errorText(err), new RegExp(LOGINS.flexible.password))
    for (const setting of [{}, { require_auth: 'scram-sha-256' }]) {
      const client = await createAzurePgClient(to(bouncer, setting))
      await client.connect()
      try {
        // Unbound SCRAM, which the client told PgBouncer it could have bound (gs2 "y"): PgBouncer accepts it.
        assert.deepEqual([authObservation(client)?.mechanism, authObservation(client)?.channelBound], ['SCRAM-SHA-256', false])
        assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, LOGINS.flexible.user)
      } finally {
        await client.end()
      }
    }
  })

  it('the doctor says channel binding is not available through PgBouncer, and suggests nothing it cannot do', async () => {
    const report = await runDoctor({ options: to(bouncer), timeoutMs: 10_000, plaintextProbe: false })
    const auth = report.steps.find((s) => s.step === 'authentication')
    assert.deepEqual([auth?.status, auth?.details], ['pass', [
      'the server asked for SCRAM-SHA-256 (offered: SCRAM-SHA-256); channel binding not available: the server does not offer SCRAM-SHA-256-PLUS (PgBouncer, such as Azure\'s on port 6432, cannot bind)',
    ]])
  })

  it('Single Server naming is unaffected: user@server goes through PgBouncer to the server', async () => {
    const client = await createAzurePgClient(to(bouncer, { user: 'myadmin', password: LOGINS.single.password, serverType: 'single' }))
    await client.connect()
    try {
      assert.equal((await client.query('SELECT current_user AS u')).rows[0].u, LOGINS.single.user)
    } finally {
      await client.end()
    }
  })

  it("sslnegotiation 'auto' tries direct TLS once (PgBouncer reports its server's 18), falls back invisibly, and remembers", async () => {
    forgetLearnedFacts()
    const proxy = await startDelayProxy({ upstreamPort: bouncer.port, delayMs: 0 })
    try {
      for (let i = 0; i < 4; i++) {
        const client = await createAzurePgClient({ ...to(bouncer), port: proxy.port, learn: 'memory', connectionTimeoutMillis: 10_000 })
        await client.connect()
        try {
          assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1)
        } finally {
          await client.end()
        }
      }
      const direct = proxy.connections().map((c) => c.directTls)
      assert.equal(direct.filter(Boolean).length, 1, `one direct attempt in all: ${JSON.stringify(direct)}`)
      assert.deepEqual(direct, [false, true, false, false, false], 'the refused attempt is retried with the SSLRequest at once')
    } finally {
      await proxy.close()
    }
  })
})
