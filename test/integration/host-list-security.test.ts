// Each server of a host list is verified on its own, against its own name, and an impostor in the list
// is never reached by making the servers before it fail: with the first server down, an impostor second
// (untrusted CA, or a trusted certificate for another name) fails the whole connect and gets nothing but
// the SSLRequest and the TLS handshake. With the impostor first and a genuine server second, the connect
// fails too, as libpq's does (checked against Debian's psql on the same servers): a failure after a server
// has answered ends the connect. A server that never answers is left after the connect limit, and the next
// one reached (libpq's connect_timeout is per host). Each server gets its own Single Server login name.
// A server that answers the SSLRequest with an error (57P03 "starting up", in the clear) ends the connect
// as in libpq 17.1+/16.5+/15.10+ (fe-connect.c: "server sent an error response during SSL exchange", the
// unauthenticated text not read, no next host); 57P03 after the TLS handshake moves on (host-list-settle).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startFakeTlsServer, type FakeMode, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { createIntermediate, createRootCa, issueServerCertificate } from '../../lab/pki.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { errorResponse, startScriptedServer, type ScriptedServer } from '../../lab/scripted-pg-server.js'
import { startTcpRelay, type TcpRelay } from '../../lab/tcp-relay.js'
import { assertPsqlPresent } from '../support/preconditions.js'
import { timeLimit } from '../support/within.js'
import { connectError as connectErrorOf } from '../support/assert-error.js'

const run = promisify(execFile)
const within = timeLimit(15_000)
/** The second server's own name (the lab's certificates carry *.postgres.database.azure.com). */
const SECOND = AZURE_HOST
const FIRST = 'firstserver.postgres.database.azure.com'
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

let lab: Lab
let closedPort: number
const fakes: FakeTlsServer[] = []
const relays: TcpRelay[] = []
const scripted: ScriptedServer[] = []

before(async () => {
  lab = await startLab(['good', 'impostor'])
  closedPort = await refusingPort()
})
after(async () => {
  await Promise.all([...fakes.map((f) => f.close()), ...relays.map((r) => r.close()), ...scripted.map((s) => s.close())])
  await lab?.stop()
})

/** A stand-in presenting a certificate from a CA nobody trusts, or a trusted one for another name. */
async function impostor(kind: 'untrusted CA' | 'other name', mode: FakeMode = 'echo-password'): Promise<FakeTlsServer> {
  const credentials = kind === 'untrusted CA'
    ? await issueServerCertificate(await createIntermediate(await createRootCa('Impostor Root'), 'Impostor CA'), { dnsNames: [SECOND, FIRST] })
    : await issueServerCertificate(lab.issuer, { dnsNames: ['otherserver.example.com'] })
  const fake = await startFakeTlsServer(mode, credentials)
  fakes.push(fake)
  return fake
}

function options(ports: readonly number[], names: readonly string[] = [FIRST, SECOND], extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: [...names], hostaddr: names.map(() => '127.0.0.1'), port: [...ports], database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: 10_000, learn: 'off', ...extra,
  }
}

const connectError = (opts: AzurePgPoolOptions): Promise<AzurePgError> => connectErrorOf(opts, within)

describe('an impostor in the host list', () => {
  for (const kind of ['untrusted CA', 'other name'] as const) {
    for (const sslnegotiation of ['postgres', 'direct'] as const) {
      it(`second, with the first server down (${kind}, ${sslnegotiation}): the connect fails, and the impostor gets nothing inside TLS`, async () => {
        // A direct TLS stand-in takes the handshake on the first bytes; the other answers the SSLRequest, then asks for a password.
        const fake = await impostor(kind, sslnegotiation === 'direct' ? 'direct-without-alpn' : 'echo-password')
        const err = await connectError(options([closedPort, fake.port], [FIRST, SECOND], { sslnegotiation }))
        assert.equal(err.code, 'TLS_VERIFY_FAILED')
        assert.equal(err.reason, kind === 'untrusted CA' ? 'unknown-ca' : 'hostname')
        assert.match(err.message, new RegExp(`${FIRST.replaceAll('.', '\\.')} \\(127\\.0\\.0\\.1\\):${closedPort} refused the connection; ${SECOND.replaceAll('.', '\\.')} \\(127\\.0\\.0\\.1\\):${fake.port} failed TLS verification`))
        assert.deepEqual(err.errors.map((e) => (e as AzurePgError).code), ['CONNECTION_FAILED', 'TLS_VERIFY_FAILED'])
        assert.equal(fake.record.connections, 1)
        // Before TLS: the SSLRequest only (direct TLS sends nothing in the clear); inside TLS: nothing at all.
        assert.deepEqual(fake.record.clear[0], sslnegotiation === 'postgres' ? SSL_REQUEST : Buffer.alloc(0))
        assert.equal(fake.record.secret[0]?.length ?? 0, 0)
        assert.ok(!err.message.includes(LOGINS.flexible.password))
      })
    }
  }

  it('first, with a genuine server second: the connect fails without trying the second, as libpq (psql) does', async () => {
    await assertPsqlPresent()
    const fake = await impostor('untrusted CA')
    const relay = await startTcpRelay({ host: '127.0.0.1', port: lab.server('good').port })
    relays.push(relay)
    const err = await connectError(options([fake.port, relay.port], [SECOND, SECOND]))
    assert.equal(err.code, 'TLS_VERIFY_FAILED')
    assert.match(err.message, /The other servers were not tried: a failure after a server has answered ends the connect, as in libpq\./)
    assert.equal(relay.connections().length, 0, 'the genuine second server was not connected to')
    assert.equal(fake.record.secret[0]?.length ?? 0, 0)
    // libpq on the same two servers: the same verdict, and the second server untouched.
    const conninfo = `host=${SECOND},${SECOND} hostaddr=127.0.0.1,127.0.0.1 port=${fake.port},${relay.port} dbname=postgres user=${LOGINS.flexible.user} sslmode=verify-full sslrootcert=${lab.rootPath}`
    const psql = await run('psql', [conninfo, '-XAtc', 'SELECT 1'], { env: { PATH: process.env['PATH'], PGPASSWORD: LOGINS.flexible.password, PGCONNECT_TIMEOUT: '10' }, timeout: 30_000 })
      .then(() => 'accepted', (e: { stderr?: string }) => String(e.stderr))
    assert.match(psql, /certificate verify failed/)
    assert.equal(relay.connections().length, 0, 'psql did not connect to the second server either')
  })

  it('an error in answer to the SSLRequest (57P03 in the clear) ends the connect without trying the second, as libpq (psql) does', async () => {
    await assertPsqlPresent()
    // Before TLS nothing is authenticated: anyone on the path can write this, so its SQLSTATE decides nothing.
    const starting = await startScriptedServer(await issueServerCertificate(lab.issuer, { dnsNames: [SECOND] }), () => undefined, {
      sslAnswer: errorResponse('FATAL', '57P03', 'the database system is starting up'),
    })
    scripted.push(starting)
    const relay = await startTcpRelay({ host: '127.0.0.1', port: lab.server('good').port })
    relays.push(relay)
    const err = await connectError(options([starting.port, relay.port], [SECOND, SECOND]))
    assert.equal(err.code, 'CONNECTION_FAILED')
    assert.match(err.message, /The other servers were not tried: a failure after a server has answered ends the connect, as in libpq\./)
    assert.match(err.message, /127\.0\.0\.1\):\d+ failed \(CONNECTION_FAILED\)/)
    assert.match((err.cause as AzurePgError).message, /answered the TLS request with an error message, in the clear; it was not read/)
    assert.ok(!err.message.includes('starting up'), 'the unauthenticated text is not repeated')
    assert.equal(starting.connections(), 1)
    assert.equal(relay.connections().length, 0, 'the genuine second server was not connected to')
    const conninfo = `host=${SECOND},${SECOND} hostaddr=127.0.0.1,127.0.0.1 port=${starting.port},${relay.port} dbname=postgres user=${LOGINS.flexible.user} sslmode=verify-full sslrootcert=${lab.rootPath}`
    const psql = await run('psql', [conninfo, '-XAtc', 'SELECT 1'], { env: { PATH: process.env['PATH'], PGPASSWORD: LOGINS.flexible.password, PGCONNECT_TIMEOUT: '10' }, timeout: 30_000 })
      .then(() => 'accepted', (e: { stderr?: string }) => String(e.stderr))
    assert.match(psql, /server sent an error response during SSL exchange/)
    assert.equal(starting.connections(), 2)
    assert.equal(relay.connections().length, 0, 'psql did not connect to the second server either')
  })

  it('never leaves the connection unverified: a genuine first server is used, an impostor second never contacted', async () => {
    const fake = await impostor('untrusted CA')
    const c = await createAzurePgClient(options([lab.server('good').port, fake.port], [SECOND, SECOND]))
    await within(c.connect(), 'connect')
    const r = await c.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    assert.equal(r.rows[0]?.ssl, true)
    await c.end()
    assert.equal(fake.record.connections, 0)
  })
})

describe('servers that cannot be reached or never answer', () => {
  for (const mode of ['silent', 'tls-request-then-silent', 'handshake-then-silent'] as const) {
    it(`a first server that ${mode === 'silent' ? 'accepts TCP and never answers' : mode === 'tls-request-then-silent' ? 'answers the SSLRequest and stalls' : 'completes TLS and stalls'} is left after the connect limit, and the second reached`, async () => {
      const stall = await startFakeTlsServer(mode, await issueServerCertificate(lab.issuer, { dnsNames: [SECOND] }))
      fakes.push(stall)
      const c = await createAzurePgClient(options([stall.port, lab.server('good').port], [SECOND, SECOND], { connectionTimeoutMillis: 1500 }))
      await within(c.connect(), 'connect')
      assert.equal((await c.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]?.port, lab.server('good').port)
      await c.end()
      assert.equal(stall.record.connections, 1)
    })
  }

  it('every server silent: one error naming each, after one connect limit per server', async () => {
    const a = await startFakeTlsServer('silent', await issueServerCertificate(lab.issuer, { dnsNames: [SECOND] }))
    const b = await startFakeTlsServer('silent', await issueServerCertificate(lab.issuer, { dnsNames: [SECOND] }))
    fakes.push(a, b)
    const err = await connectError(options([a.port, b.port], [FIRST, SECOND], { connectionTimeoutMillis: 300 }))
    assert.equal(err.code, 'CONNECTION_FAILED')
    assert.equal(err.reason, 'timeout')
    assert.match(err.message, /:\d+ did not complete the connection within the time limit; .*:\d+ did not complete the connection within the time limit\./)
    assert.equal(a.record.connections + b.record.connections, 2)
  })

  it('a pool checkout waits for each server\'s limit in turn (the checkout limit covers the whole list)', async () => {
    const stall = await startFakeTlsServer('silent', await issueServerCertificate(lab.issuer, { dnsNames: [SECOND] }))
    fakes.push(stall)
    const pool = await createAzurePgPool({ ...options([stall.port, lab.server('good').port], [SECOND, SECOND], { connectionTimeoutMillis: 1500 }), max: 1 })
    try {
      const r = await within(pool.query<{ port: number }>('SELECT inet_server_port() AS port'), 'query')
      assert.equal(r.rows[0]?.port, lab.server('good').port)
    } finally { await pool.end() }
  })

  it('Single Server login names are per server: user@<each server>', async () => {
    // The first server is down; the second is the lab's mydemoserver, whose role is myadmin@mydemoserver.
    const c = await createAzurePgClient(options([closedPort, lab.server('good').port], [FIRST, SECOND], {
      serverType: 'single', user: 'myadmin', password: LOGINS.single.password,
    }))
    await within(c.connect(), 'connect')
    assert.equal((await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u, LOGINS.single.user)
    await c.end()
  })
})
