// What the client does between "create" and "first byte sent": it connects only as resolved, only over a
// verified session, within a time limit, and takes nothing from the process environment. Against the
// embedded PostgreSQL 18, a counting listener and stand-in servers that record what they receive.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { inspect } from 'node:util'
import pg from 'pg'
import LegacyPg from 'pg-8-11'
import { Client as DropInClient } from '../../src/connect/pg.js'
import { resolveSettings } from '../../src/config/resolve.js'
import { prepare } from '../../src/connect/prepare.js'
import { AzurePgClient, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startCountingListener, type CountingListener } from '../../lab/counting-listener.js'
import { startFakeTlsServer, type FakeMode, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { AZURE_HOST, LOGINS, startLab, type Lab, type ServerKind } from '../../lab/lab.js'
import { createRootCa, issueServerCertificate } from '../../lab/pki.js'
import { startTcpRelay } from '../../lab/tcp-relay.js'
import { SSL_REQUEST } from '../../lab/tls-records.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { waitUntil } from '../support/handles.js'
import { sessionFacts } from '../support/session.js'

let lab: Lab
let listener: CountingListener

before(async () => {
  lab = await startLab(['good', 'impostor'])
  listener = await startCountingListener()
})
after(async () => {
  await listener?.close()
  await lab?.stop()
})

function to(kind: ServerKind | number, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: typeof kind === 'number' ? kind : lab.server(kind).port, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {}, connectionTimeoutMillis: 5000, ...extra,
  }
}

/** Runs `f` with process-wide environment variables set, restoring them afterwards. */
async function withProcessEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await f()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

type Internals = { connection: { ssl: Record<string, unknown>; sslNegotiation: string }; connectionParameters: { ssl: Record<string, unknown> }; host: string; ssl: unknown }

describe('changes after creation are refused before any socket opens', () => {
  const tamperings: Array<[string, (c: Internals) => void]> = [
    ['servername changed', (c) => { c.connectionParameters.ssl['servername'] = 'otherserver.postgres.database.azure.com' }],
    ['ca replaced', (c) => { c.connection.ssl['ca'] = [lab.root.pem, 'extra'] }],
    ['ca emptied', (c) => { c.connection.ssl['ca'] = [] }],
    ['rejectUnauthorized deleted', (c) => { delete c.connection.ssl['rejectUnauthorized'] }],
    ['minVersion lowered', (c) => { c.connection.ssl['minVersion'] = 'TLSv1' }],
    ['a checkServerIdentity added', (c) => { c.connection.ssl['checkServerIdentity'] = () => undefined }],
    ['client.ssl switched off', (c) => { c.ssl = false }],
    ['connection.ssl replaced by an object of the same values', (c) => { c.connection.ssl = { ...c.connection.ssl, ca: [...(c.connection.ssl['ca'] as string[]), lab.root.pem] } }],
    ['host changed', (c) => { c.host = '127.0.0.2' }],
    ['negotiation changed', (c) => { c.connection.sslNegotiation = 'direct' }],
  ]
  for (const [name, tamper] of tamperings) {
    it(name, async () => {
      const before = listener.connections()
      const client = await createAzurePgClient(to(listener.port))
      // The TLS options are frozen and cannot be replaced: most changes fail where they are made.
      let blocked = false
      try {
        tamper(client as unknown as Internals)
      } catch (err) {
        blocked = err instanceof TypeError
        assert.ok(blocked, String(err))
      }
      if (!blocked) await withProcessEnv({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }, () => expectAzureError(() => client.connect(), 'INSECURE_TLS'))
      assert.equal(listener.connections(), before, 'no socket was opened')
    })
  }

  it('an AzurePgClient constructed directly with a configuration that would not verify is refused at construction', async () => {
    const prepared = await prepare(resolveSettings(to(listener.port), {}))
    const weak: Array<Record<string, unknown>> = [
      { ...prepared.config.ssl, rejectUnauthorized: false },
      { ...prepared.config.ssl, ca: undefined },
      { ...prepared.config.ssl, ca: [] },
      { ...prepared.config.ssl, checkServerIdentity: () => undefined },
      { ...prepared.config.ssl, minVersion: 'TLSv1.1' },
      { ...prepared.config.ssl, pskCallback: () => undefined },
    ]
    for (const ssl of weak) {
      await expectAzureError(() => new AzurePgClient(prepared, { ...prepared.config, ssl: ssl as unknown as typeof prepared.config.ssl }), 'INSECURE_TLS')
    }
    await expectAzureError(() => new AzurePgClient(prepared, { ...prepared.config, ssl: false as unknown as typeof prepared.config.ssl }), 'INSECURE_TLS')
    assert.equal(listener.connections(), 0)
  })

  it('NODE_TLS_REJECT_UNAUTHORIZED=0 does not weaken an SDK connection', async () => {
    await withProcessEnv({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }, async () => {
      const err = await expectAzureError(async () => (await createAzurePgClient(to('impostor'))).connect(), 'TLS_VERIFY_FAILED')
      assert.equal(err.reason, 'unknown-ca')
    })
  })
})

describe('identity', () => {
  it('checks an IP-literal host against host, not against the hostaddr it connects to (as libpq does)', async () => {
    const onlyLoopback = await issueServerCertificate(lab.issuer, { dnsNames: ['ip-only.example'], ipAddresses: ['127.0.0.1'] })
    const forHost = await issueServerCertificate(lab.issuer, { dnsNames: ['ip-only.example'], ipAddresses: ['127.0.0.2'] })
    const wrong = await startFakeTlsServer('handshake-then-silent', onlyLoopback)
    const right = await startFakeTlsServer('handshake-then-silent', forHost)
    try {
      const viaAddress = (port: number) => ({ ...to(port), host: '127.0.0.2', hostaddr: '127.0.0.1', connectionTimeoutMillis: 1500 })
      const refused = await expectAzureError(async () => (await createAzurePgClient(viaAddress(wrong.port))).connect(), 'TLS_VERIFY_FAILED')
      assert.equal(refused.reason, 'hostname')
      assert.equal(wrong.record.secret[0]?.length, 0, 'no startup message reached a server whose certificate is not for host')
      // The certificate for 127.0.0.2 passes the check; the stand-in then stalls, after receiving the startup message.
      const stalled = await expectAzureError(async () => (await createAzurePgClient(viaAddress(right.port))).connect(), 'CONNECTION_FAILED')
      assert.equal(stalled.reason, 'timeout')
      assert.ok((right.record.secret[0]?.length ?? 0) > 0, 'the startup message was sent inside the verified session')
    } finally {
      await wrong.close()
      await right.close()
    }
  })
})

describe('time limits', () => {
  for (const mode of ['silent', 'tls-request-then-silent', 'handshake-then-silent'] as const satisfies readonly FakeMode[]) {
    it(`a server that ${mode.replace(/-/g, ' ')} fails with CONNECTION_FAILED (timeout) within the connect limit`, async () => {
      const server: FakeTlsServer = await startFakeTlsServer(mode, await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
      try {
        const err = await expectAzureError(async () => (await createAzurePgClient(to(server.port, { connectionTimeoutMillis: 700 }))).connect(), 'CONNECTION_FAILED')
        assert.equal(err.reason, 'timeout')
        assert.equal(server.record.connections, 1)
      } finally {
        await server.close()
      }
    })
  }

  it('a pool that cannot hand out a client in time fails with an AzurePgError', async () => {
    const pool = await createAzurePgPool(to('good', { max: 1, connectionTimeoutMillis: 400 }))
    const held = await pool.connect()
    try {
      const err = await expectAzureError(() => pool.connect(), 'CONNECTION_FAILED')
      assert.equal(err.reason, 'timeout')
      await expectAzureError(() => pool.query('SELECT 1'), 'CONNECTION_FAILED')
    } finally {
      held.release()
      await pool.end()
    }
  })
})

describe('direct TLS', () => {
  it('refuses a server that completes direct TLS without selecting ALPN "postgresql", before sending the startup message', async () => {
    const server = await startFakeTlsServer('direct-without-alpn', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
    try {
      const err = await expectAzureError(async () => (await createAzurePgClient(to(server.port, { sslnegotiation: 'direct' }))).connect(), 'CONNECTION_FAILED')
      // 'no-alpn' is decided when the client's handshake has completed (the server may not see its end).
      assert.equal(err.reason, 'no-alpn')
      assert.equal(server.record.connections, 1)
      assert.equal(server.record.secret[0]?.length, 0, 'nothing was sent inside the session')
    } finally {
      await server.close()
    }
  })

  it('connects to PostgreSQL 18 with direct TLS, which selects ALPN "postgresql"', async () => {
    const client = await createAzurePgClient(to('good', { sslnegotiation: 'direct' }))
    assert.equal((await sessionFacts(client)).ssl, true)
  })
})

describe("a client's Connection", () => {
  it('cannot be replaced: the guard checks the TLS options of the Connection pg will use', async () => {
    const client = await createAzurePgClient(to('impostor'))
    const own = (client as unknown as { connection: unknown }).connection
    // A Connection whose TLS options answer the guard with the resolved ones, and pg with weaker ones.
    const evil = new pg.Connection()
    assert.throws(() => { (client as unknown as { connection: unknown }).connection = evil }, TypeError)
    assert.equal((client as unknown as { connection: unknown }).connection, own)
    const err = await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')
    assert.equal(err.reason, 'unknown-ca')
    await client.end()
  })
})

describe('cancel', () => {
  /** A client as another copy of pg makes it (ORMs bring their own): pg 8.11, whose fields have no `_` prefix. */
  async function legacyClient(port: number): Promise<pg.Client> {
    const client = new LegacyPg.Client({
      host: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
      ssl: { ca: lab.root.pem, servername: AZURE_HOST }, connectionTimeoutMillis: 5000,
    })
    await client.connect()
    return client as unknown as pg.Client
  }

  /** Waits until the server runs `SELECT pg_sleep…`, so the cancel has something to cancel. */
  async function untilRunning(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await lab.admin('good', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep%'")
      if (r.rows[0]?.n === 1) return
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  /** The first byte of a TLS handshake record. */
  const TLS_HANDSHAKE = 0x16
  type Canceller = { cancel(c: pg.Client, q: pg.Query): void }
  const workers: Record<string, (port: number) => Promise<pg.Client>> = {
    'an SDK client': async (port) => {
      const c = await createAzurePgClient(to(port))
      await c.connect()
      return c
    },
    "pg 8.11's client (only activeQuery, no _activeQuery)": legacyClient,
  }
  const cancellers: Record<string, (port: number) => Promise<Canceller>> = {
    'createAzurePgClient': async (port) => (await createAzurePgClient(to(port))) as unknown as Canceller,
    "azure-pg-tls/pg's Client, never connected": async (port) => new DropInClient(to(port)) as unknown as Canceller,
  }
  for (const [workerName, makeWorker] of Object.entries(workers)) {
    for (const [cancellerName, makeCanceller] of Object.entries(cancellers)) {
      it(`cancels ${workerName}'s running query from ${cancellerName} inside verified TLS, never in plaintext`, async () => {
        const relay = await startTcpRelay(lab.server('good'))
        const worker = await makeWorker(relay.port)
        try {
          // A Query of the worker's own copy of pg: each copy knows only its own.
          const OwnQuery = (Object.getPrototypeOf(worker) === LegacyPg.Client.prototype ? LegacyPg : pg).Query
          const query = worker.query(new OwnQuery('SELECT pg_sleep(30)'))
          const outcome = new Promise<Error>((resolve) => query.on('error', resolve))
          await untilRunning()
          ;(await makeCanceller(relay.port)).cancel(worker, query)
          const err = await outcome
          assert.equal((err as { code?: string }).code, '57014', err.message)
          // Each connection opened with TLS: an SSLRequest, or a ClientHello at once (direct TLS, once the
          // SDK has learned the server takes it); a CancelRequest in the clear would start with its length, 16.
          const openings = relay.connections().map((c) => (c.firstBytes[0] === TLS_HANDSHAKE ? 'tls' : c.firstBytes.subarray(0, 8).equals(SSL_REQUEST) ? 'ssl-request' : c.firstBytes.toString('hex')))
          assert.equal(openings.length, 2)
          for (const opening of openings) assert.ok(opening === 'tls' || opening === 'ssl-request', `a connection opened with ${opening}`)
        } finally {
          await worker.end()
          await relay.close()
        }
      })
    }
  }

  it("gives up a cancel whose server never answers after the connect limit, and never throws for a canceller changed after creation", async () => {
    const stalled = await startFakeTlsServer('tls-request-then-silent', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
    const worker = await createAzurePgClient(to('good'))
    await worker.connect()
    try {
      const query = worker.query(new pg.Query('SELECT pg_sleep(30)'))
      const outcome = new Promise<Error>((resolve) => query.on('error', resolve))
      await untilRunning()
      const canceller = (await createAzurePgClient(to(stalled.port, { connectionTimeoutMillis: 300 }))) as unknown as Canceller & { connection: { stream: { destroyed: boolean } } }
      canceller.cancel(worker, query)
      await waitUntil(() => stalled.record.connections === 1 && canceller.connection.stream.destroyed, 5000)
      assert.equal(stalled.record.connections, 1, 'the cancel reached the stalled server')
      assert.equal(canceller.connection.stream.destroyed, true, 'the cancel gave up its socket after its connect limit')

      const tampered = (await createAzurePgClient(to('good'))) as unknown as Canceller & { port: number }
      tampered.port = stalled.port
      assert.doesNotThrow(() => tampered.cancel(worker, query))
      assert.equal(stalled.record.connections, 1, 'the changed canceller sent nothing')
      // The query still runs: cancel it for real, inside TLS, to end the test.
      ;((await createAzurePgClient(to('good'))) as unknown as Canceller).cancel(worker, query)
      assert.equal(((await outcome) as { code?: string }).code, '57014')
    } finally {
      await worker.end()
      await stalled.close()
    }
  })

  it("takes a queued query of pg 8.11's client off its queue with no network at all", async () => {
    const relay = await startTcpRelay(lab.server('good'))
    const worker = await legacyClient(relay.port)
    try {
      const running = worker.query('SELECT 1 AS one')
      const queued = worker.query(new LegacyPg.Query('SELECT 2 AS two'))
      let queuedAnswered = false
      queued.on('end', () => { queuedAnswered = true })
      queued.on('error', () => { queuedAnswered = true })
      ;((await createAzurePgClient(to(relay.port))) as unknown as Canceller).cancel(worker, queued)
      assert.equal((await running).rows[0]?.one, 1)
      assert.equal((await worker.query('SELECT 3 AS three')).rows[0]?.three, 3)
      assert.equal(queuedAnswered, false, 'the cancelled query never ran')
      assert.equal(relay.connections().length, 1, 'the cancel opened no connection')
    } finally {
      await worker.end()
      await relay.close()
    }
  })
})

describe('the process environment', () => {
  it('is never read behind the SDK: PGPASSWORD, PGAPPNAME, PGOPTIONS and PGCLIENTENCODING of the process do not reach the server', async () => {
    await withProcessEnv({ PGPASSWORD: LOGINS.flexible.password, PGAPPNAME: 'leaked-app', PGOPTIONS: '-c search_path=leaked', PGCLIENTENCODING: 'LATIN1' }, async () => {
      const { password: _password, ...noPassword } = to('good')
      const err = await expectAzureError(async () => (await createAzurePgClient(noPassword)).connect(), 'AUTH_FAILED')
      assert.match(err.message, /none is configured/)
      const client = await createAzurePgClient(to('good'))
      await client.connect()
      try {
        const r = await client.query("SELECT current_setting('application_name') AS app, current_setting('search_path') AS path, current_setting('client_encoding') AS enc")
        assert.deepEqual(r.rows[0], { app: '', path: '"$user", public', enc: 'UTF8' })
      } finally {
        await client.end()
      }
    })
  })
})

describe('secrets against a hostile server', () => {
  it('never shows the password a server echoes back, in the error, its hint or its cause chain', async () => {
    const secret = 'Echo-Me-4f9Q2z!'
    const server = await startFakeTlsServer('echo-password', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
    try {
      const err = await expectAzureError(async () => (await createAzurePgClient(to(server.port, { password: secret, learn: 'off' }))).connect(), 'AUTH_FAILED')
      assert.ok(server.record.secret[0]?.includes(Buffer.from(secret)), 'the server did receive the password (inside TLS), so it could echo it')
      assert.doesNotMatch(errorText(err) + inspect(err, { depth: 10 }), /Echo-Me-4f9Q2z/)
    } finally {
      await server.close()
    }
  })
})

describe('pool clients', () => {
  it('are AzurePgClients: checked before connecting and explained on failure', async () => {
    const pool = await createAzurePgPool(to('good', { max: 2 }))
    try {
      const client = await pool.connect()
      assert.ok(client instanceof AzurePgClient)
      client.release()
    } finally {
      await pool.end()
    }
  })

  it('refuse a pool whose shared TLS options were changed after creation, before any socket opens', async () => {
    const before = listener.connections()
    const pool = await createAzurePgPool(to(listener.port, { max: 2 }))
    ;(pool as unknown as { options: { ssl: Record<string, unknown> } }).options.ssl['servername'] = 'otherserver.postgres.database.azure.com'
    try {
      await expectAzureError(() => pool.query('SELECT 1'), 'INSECURE_TLS')
      assert.equal(listener.connections(), before)
    } finally {
      await pool.end()
    }
  })
})

describe('what an adversarial review found, each closed', () => {
  async function echoServer(): Promise<FakeTlsServer> {
    // A server with a certificate from a root the client does not trust, that would echo the password back.
    return startFakeTlsServer('echo-password', await issueServerCertificate(await createRootCa('Untrusted Root'), { dnsNames: [AZURE_HOST] }))
  }

  it('a SecureContext swapped in after creation is refused (it cannot even be set)', async () => {
    const server = await echoServer()
    try {
      const client = await createAzurePgClient(to(server.port, { learn: 'off' })) as unknown as Internals & pg.Client
      const evil = createSecureContext({ minVersion: 'TLSv1.2' })
      assert.throws(() => { client.connection.ssl['secureContext'] = evil }, TypeError)
      assert.throws(() => { client.connection.ssl = { ...client.connection.ssl, secureContext: evil } }, TypeError)
      await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')
      assert.equal(server.record.secret[0]?.length ?? 0, 0, 'nothing was sent to the untrusted server')
    } finally {
      await server.close()
    }
  })

  it('the TLS options cannot be replaced between connect() and the moment pg reads them', async () => {
    const server = await echoServer()
    try {
      const client = await createAzurePgClient(to(server.port, { learn: 'off' })) as unknown as Internals & pg.Client
      const attempt = client.connect()
      assert.throws(() => { client.connection.ssl = { rejectUnauthorized: true } }, TypeError)
      await expectAzureError(() => attempt, 'TLS_VERIFY_FAILED')
      assert.equal(server.record.secret[0]?.length ?? 0, 0)
    } finally {
      await server.close()
    }
  })

  it('a polluted Object.prototype supplies no option, string key, variable or TLS setting', async () => {
    const server = await echoServer()
    const proto = Object.prototype as Record<string, unknown>
    const evilPem = readFileSync(lab.rootPath, 'utf8') // a real PEM, but of the lab: the point is it must not be used
    const pollution: Record<string, unknown> = {
      ca: evilPem, sslrootcert: '/nonexistent/evil.pem', PGSSLROOTCERT: '/nonexistent/evil.pem', ssl: { ca: evilPem }, env: { PGHOST: 'evil' },
      session: Buffer.alloc(16), pskCallback: () => undefined, checkServerIdentity: () => undefined, servername: 'evil.example',
    }
    try {
      for (const [k, v] of Object.entries(pollution)) proto[k] = v
      const { sslrootcert: _trusted, ...noRoots } = to(server.port, { learn: 'off', certs: { source: 'bundled' } })
      // Azure's roots only: the untrusted server must fail verification, whatever the prototype says.
      await expectAzureError(async () => (await createAzurePgClient(noRoots)).connect(), 'TLS_VERIFY_FAILED')
      assert.equal(server.record.secret[0]?.length ?? 0, 0)
    } finally {
      for (const k of Object.keys(pollution)) delete proto[k]
      await server.close()
    }
  })

  it('a password given as a function is kept out of errors, like a string one', async () => {
    const secret = 'Fn-Secret-7Qz!x'
    const server = await startFakeTlsServer('echo-password', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
    try {
      const err = await expectAzureError(async () => (await createAzurePgClient(to(server.port, { password: async () => secret, learn: 'off' }))).connect(), 'AUTH_FAILED')
      assert.doesNotMatch(errorText(err) + inspect(err, { depth: 10 }), /Fn-Secret-7Qz/)
    } finally {
      await server.close()
    }
  })

  it('connect() called twice: both calls settle, the second with an AzurePgError', async () => {
    const client = await createAzurePgClient(to('good'))
    const first = client.connect()
    await expectAzureError(() => client.connect(), 'INVALID_CONFIG')
    await first
    await client.end()
  })

  it('bad input is an AzurePgError: null options, a cipher list OpenSSL cannot use', async () => {
    await expectAzureError(() => createAzurePgClient(null as unknown as undefined), 'INVALID_CONFIG')
    await expectAzureError(() => createAzurePgPool(null as unknown as undefined), 'INVALID_CONFIG')
    await expectAzureError(() => createAzurePgClient(to('good', { ssl: { ciphers: 'nonsense' } })), 'INVALID_CONFIG')
  })
})

