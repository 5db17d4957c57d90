// Against real PostgreSQL 18 servers with TLS (test/support/lab.ts): good, impostor, wrong name,
// expired, TLS off. Nothing here mocks pg or the server.
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import pg from 'pg'
import { createAzurePgClient, createAzurePgPool, resolveAzurePgConfig, type AzurePgPoolOptions } from '../../src/index.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { sessionFacts } from '../support/session.js'
import { startCountingListener, type CountingListener } from '../../lab/counting-listener.js'
import { insecureSettings } from '../support/insecure-matrix.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, LOGINS, startLab, type Lab, type ServerKind } from '../../lab/lab.js'
import { startTcpRelay } from '../../lab/tcp-relay.js'
import { SSL_REQUEST, TLS_HANDSHAKE as TLS_HANDSHAKE_RECORD } from '../../lab/tls-records.js'

let lab: Lab

before(async () => {
  lab = await startLab(['good', 'impostor', 'wrongName', 'expired', 'tlsOff'])
})
after(async () => {
  await lab?.stop()
})

/** Options that reach a lab server the way a private endpoint is reached: by name, through hostaddr. */
function to(kind: ServerKind, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server(kind).port, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS, ...extra,
  }
}

describe('a verified connection', () => {
  it('connects with TLS 1.2+ verified against the trusted root', async () => {
    const client = await createAzurePgClient(to('good'))
    assert.ok(client instanceof pg.Client, 'a real pg.Client, drop-in')
    const s = await sessionFacts(client)
    assert.equal(s.ssl, true)
    assert.match(s.version, /^TLSv1\.[23]$/)
    assert.equal(s.current_user, 'myadmin')
  })

  it("reads the server's answers as raw pg does: no deferred call more per query, with the SSLRequest or direct TLS", async () => {
    // Counted, not timed: every chunk a socket receives while a stream has no marked 'data' listener waits
    // a tick in its buffer (as it did when the login guard re-added pg's listener with prependListener).
    const ticksFor = async (client: pg.Client): Promise<number> => {
      await client.connect()
      try {
        await client.query('SELECT 1')
        const tick = process.nextTick
        let ticks = 0
        process.nextTick = ((...args: Parameters<typeof tick>) => { ticks++; tick(...args) }) as typeof tick
        try {
          for (let i = 0; i < 50; i++) await client.query('SELECT 1')
        } finally {
          process.nextTick = tick
        }
        return ticks
      } finally {
        await client.end()
      }
    }
    const s = lab.server('good')
    const raw = await ticksFor(new pg.Client({
      host: '127.0.0.1', port: s.port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
      ssl: { ca: lab.root.pem, servername: AZURE_HOST, rejectUnauthorized: true },
    }))
    for (const sslnegotiation of ['postgres', 'direct'] as const) {
      const sdk = await ticksFor(await createAzurePgClient(to('good', { sslnegotiation })))
      assert.ok(sdk <= raw, `${sslnegotiation}: ${sdk} deferred calls in 50 queries, raw pg ${raw}`)
    }
  })

  it("sends user@server on Single Server (role literally named 'myadmin@mydemoserver')", async () => {
    const client = await createAzurePgClient(to('good', { user: 'myadmin', password: LOGINS.single.password, serverType: 'single' }))
    assert.equal((await sessionFacts(client)).current_user, 'myadmin@mydemoserver')
  })

  for (const [form, connectionString] of [
    ['URI', () => `postgresql://myadmin%40mydemoserver:${LOGINS.single.password}@${AZURE_HOST}:${lab.server('good').port}/postgres?sslmode=require&hostaddr=127.0.0.1`],
    ['key=value', () => `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${lab.server('good').port} dbname=postgres user=myadmin@mydemoserver password='${LOGINS.single.password}' sslmode=verify-full`],
    ['ADO.NET', () => `Server=${AZURE_HOST};Database=postgres;Port=${lab.server('good').port};User Id=myadmin@mydemoserver;Password=${LOGINS.single.password};Ssl Mode=Require;`],
    ['JDBC', () => `jdbc:postgresql://${AZURE_HOST}:${lab.server('good').port}/postgres?user=myadmin@mydemoserver&password=${LOGINS.single.password}&sslmode=require`],
  ] as const) {
    it(`connects from a pasted ${form} string`, async () => {
      const client = await createAzurePgClient({ connectionString: connectionString(), hostaddr: '127.0.0.1', sslrootcert: lab.rootPath, env: {} })
      const s = await sessionFacts(client)
      assert.equal(s.current_user, 'myadmin@mydemoserver')
      assert.equal(s.ssl, true)
    })
  }

  it('connects from the PG* environment alone', async () => {
    const s = lab.server('good')
    const client = await createAzurePgClient({
      env: { PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(s.port), PGUSER: 'myadmin', PGPASSWORD: LOGINS.flexible.password, PGDATABASE: 'postgres', PGSSLROOTCERT: lab.rootPath, PGSSLMODE: 'require' },
    })
    assert.equal((await sessionFacts(client)).current_user, 'myadmin')
  })

  it('negotiates direct TLS (PostgreSQL 17+, ALPN) when asked: the first bytes on the wire are a TLS ClientHello, not an SSLRequest', async () => {
    const relay = await startTcpRelay(lab.server('good'))
    try {
      const direct = await createAzurePgClient(to('good', { port: relay.port, sslnegotiation: 'direct' }))
      assert.equal((await sessionFacts(direct)).ssl, true)
      // postgres, not the default auto: auto would have learned from the first connection that direct TLS works.
      const standard = await createAzurePgClient(to('good', { port: relay.port, sslnegotiation: 'postgres' }))
      assert.equal((await sessionFacts(standard)).ssl, true)
      const [viaDirect, viaStandard] = relay.connections()
      assert.equal(relay.connections().length, 2)
      assert.equal(viaDirect?.firstBytes[0], TLS_HANDSHAKE_RECORD, `direct TLS began with ${viaDirect?.firstBytes.subarray(0, 8).toString('hex')}`)
      assert.ok(!viaDirect.firstBytes.subarray(0, 8).equals(SSL_REQUEST), 'no SSLRequest with direct TLS')
      // The relay's view is checked too: the standard negotiation does begin with the SSLRequest.
      assert.deepEqual(viaStandard?.firstBytes.subarray(0, 8), SSL_REQUEST)
    } finally {
      await relay.close()
    }
  })

  it('hands other libraries a config that plain pg connects with, verified', async () => {
    const config = await resolveAzurePgConfig(to('good'))
    const client = new pg.Client(config)
    assert.equal((await sessionFacts(client)).ssl, true)
  })

  it('runs a pool of 20 concurrent verified clients', async () => {
    const pool = await createAzurePgPool(to('good', { max: 20 }))
    try {
      const clients = await Promise.all(Array.from({ length: 20 }, () => pool.connect()))
      const facts = await Promise.all(clients.map((c) => c.query('SELECT pg_backend_pid() AS pid, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')))
      clients.forEach((c) => c.release())
      assert.equal(new Set(facts.map((f) => f.rows[0].pid)).size, 20)
      assert.ok(facts.every((f) => f.rows[0].ssl === true))
      assert.equal(pool.totalCount, 20)
      const viaQuery = await pool.query('SELECT 1 AS one')
      assert.equal(viaQuery.rows[0].one, 1)
    } finally {
      await pool.end()
    }
  })
})

describe('refusals at connect time', () => {
  it('refuses a certificate from another CA', async () => {
    const client = await createAzurePgClient(to('impostor'))
    const err = await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')
    assert.equal(err.reason, 'unknown-ca')
    assert.ok(err.cause instanceof Error)
  })

  it('refuses a certificate for another host name', async () => {
    const client = await createAzurePgClient(to('wrongName'))
    const err = await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')
    assert.equal(err.reason, 'hostname')
    assert.match(err.message, /mydemoserver\.postgres\.database\.azure\.com/)
  })

  it('refuses an expired certificate', async () => {
    const client = await createAzurePgClient(to('expired'))
    assert.equal((await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')).reason, 'expired')
  })

  it('refuses a server with TLS off', async () => {
    const client = await createAzurePgClient(to('tlsOff'))
    await expectAzureError(() => client.connect(), 'SERVER_REFUSED_TLS')
  })

  it("refuses the lab's server with Azure's default roots, or with Node's built-in roots", async () => {
    for (const sslrootcert of [undefined, 'system']) {
      const client = await createAzurePgClient(to('good', { sslrootcert, certs: { source: 'bundled' } }))
      assert.equal((await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')).reason, 'unknown-ca')
    }
  })

  it('refuses the same server reached under a name its certificate lacks', async () => {
    const client = await createAzurePgClient(to('good', { host: 'mydemoserver.private.example.com' }))
    assert.equal((await expectAzureError(() => client.connect(), 'TLS_VERIFY_FAILED')).reason, 'hostname')
  })

  it('reports a wrong password without ever echoing it, and hints at Single Server naming', async () => {
    const secret = 'Wr0ng-Pa55-Visible'
    const client = await createAzurePgClient(to('good', { password: secret }))
    const err = await expectAzureError(() => client.connect(), 'AUTH_FAILED')
    assert.match(err.hint, /serverType: 'single'/)
    assert.doesNotMatch(errorText(err), new RegExp(secret))
  })

  it('reports a user the server does not know as an authentication failure', async () => {
    const client = await createAzurePgClient(to('good', { user: 'nobody-here', password: LOGINS.single.password }))
    await expectAzureError(() => client.connect(), 'AUTH_FAILED')
  })

  it('works through the callback API pg.Pool uses', async () => {
    const client = await createAzurePgClient(to('impostor'))
    const err = await new Promise<Error>((resolve) => client.connect((e: Error) => resolve(e)))
    assert.equal((err as { code?: string }).code, 'TLS_VERIFY_FAILED')
  })
})

describe('insecure settings never reach the network', () => {
  // A fresh listener per test: one test's stray connection must not fail (or excuse) another.
  let listener: CountingListener
  beforeEach(async () => { listener = await startCountingListener() })
  afterEach(async () => { await listener.close() })

  it('refuses the whole insecure-settings matrix with zero connections made', async () => {
    // Each option set carries a connection time limit: a setting that is wrongly let through fails
    // this test within seconds (a timeout, and a counted connection) instead of hanging on the silent listener.
    const matrix = insecureSettings(listener.port, { connectionTimeoutMillis: 3000 })
    for (const { name, options } of matrix) {
      const err = await expectAzureError(async () => {
        const client = await createAzurePgClient(options)
        await client.connect()
      }, 'INSECURE_TLS')
      assert.ok(err.message.length > 0, name)
      assert.equal(listener.connections(), 0, `${name} opened a connection`)
    }
  })

  it('refuses a client whose TLS settings were weakened after creation, before connecting', async () => {
    const client = await createAzurePgClient(to('good', { port: listener.port, connectionTimeoutMillis: 3000 }))
    // The options are frozen: the change itself fails, and the client still refuses to go anywhere unverified.
    assert.throws(() => { (client as unknown as { connection: { ssl: { rejectUnauthorized: boolean } } }).connection.ssl.rejectUnauthorized = false }, TypeError)
    ;(client as unknown as { host: string }).host = '127.0.0.2'
    await expectAzureError(() => client.connect(), 'INSECURE_TLS')
    assert.equal(listener.connections(), 0)
  })

  it('refuses a pool whose clients would not verify, before connecting', async () => {
    await expectAzureError(() => createAzurePgPool({ ...to('good', { port: listener.port, connectionTimeoutMillis: 3000 }), ssl: { rejectUnauthorized: false } }), 'INSECURE_TLS')
    assert.equal(listener.connections(), 0)
  })
})
