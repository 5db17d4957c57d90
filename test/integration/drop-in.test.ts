// azure-pg-tls/pg (the drop-in pg module) and Azure's environment conventions, against the lab's real
// PostgreSQL 18 that poses as mydemoserver.postgres.database.azure.com (reached through hostaddr).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import azurePg, { Client, Pool } from 'azure-pg-tls/pg'
import { startCountingListener } from '../../lab/counting-listener.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { expectAzureError } from '../support/assert-error.js'
import { sessionFacts } from '../support/session.js'

let lab: Lab
before(async () => { lab = await startLab(['good']) })
after(async () => { await lab?.stop() })

const SSL_NOW = 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'

/** pg-style configuration of the lab server, as an ORM would pass it. */
function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {}, ...extra }
}

/** Connects, reads the session's user and whether it is TLS, closes. */
async function facts(client: pg.Client): Promise<{ current_user: string; ssl: boolean }> {
  const { current_user, ssl } = await sessionFacts(client)
  return { current_user, ssl }
}

describe('azure-pg-tls/pg Client', () => {
  it('is a pg.Client, constructed synchronously, that connects over verified TLS', async () => {
    const client = new Client(config())
    assert.ok(client instanceof pg.Client)
    assert.deepEqual(await facts(client), { current_user: 'myadmin', ssl: true })
  })

  it('keeps listeners attached to client.connection before connect() (Sequelize listens for parameterStatus)', async () => {
    const client = new Client(config())
    const seen: string[] = []
    client.connection.on('parameterStatus', (m: { parameterName: string }) => seen.push(m.parameterName))
    await facts(client)
    assert.ok(seen.includes('server_version'), seen.join(','))
  })

  it('refuses an insecure setting from connect(), not the constructor, with no socket opened', async () => {
    const listener = await startCountingListener()
    try {
      const client = new Client({ host: AZURE_HOST, hostaddr: '127.0.0.1', port: listener.port, user: 'u', sslmode: 'disable', env: {} })
      await expectAzureError(() => client.connect(), 'INSECURE_TLS')
      const viaString = new Client(`postgresql://u:p@127.0.0.1:${listener.port}/db?sslmode=disable`)
      await expectAzureError(() => viaString.connect(), 'INSECURE_TLS')
      const callbackErr = await new Promise<unknown>((resolve) => new Client({ ...config(), port: listener.port, ssl: { rejectUnauthorized: false } }).connect((err: Error) => resolve(err)))
      assert.equal((callbackErr as { code?: string }).code, 'INSECURE_TLS')
      assert.equal(listener.connections(), 0)
    } finally {
      await listener.close()
    }
  })

  it('explains a wrong password as AUTH_FAILED naming the server, never the password', async () => {
    const err = await expectAzureError(() => new Client(config({ password: 'Wrong-Pa55' })).connect(), 'AUTH_FAILED')
    assert.match(err.message + err.hint, /mydemoserver\.postgres\.database\.azure\.com/)
    assert.doesNotMatch(`${err.message} ${err.hint} ${String(err.cause)}`, /Wrong-Pa55/)
  })

  it('a connected client cannot connect again (an AzurePgError, and the first connect still settles), and never re-prepares', async () => {
    const client = new Client(config())
    await client.connect()
    try {
      await expectAzureError(() => client.connect(), 'INVALID_CONFIG')
    } finally {
      await client.end()
    }
  })
})

describe('azure-pg-tls/pg Pool and module', () => {
  it('runs a pool of verified clients', async () => {
    const pool = new Pool({ ...config(), max: 4 })
    try {
      const rows = await Promise.all(Array.from({ length: 8 }, async () => (await pool.query(SSL_NOW)).rows[0]))
      assert.ok(rows.every((r) => r.ssl === true))
      assert.ok(pool.totalCount <= 4 && pool.totalCount >= 1)
      const bad = new Pool({ ...config(), password: 'Wrong-Pa55' })
      await expectAzureError(() => bad.query('SELECT 1'), 'AUTH_FAILED')
      await bad.end()
    } finally {
      await pool.end()
    }
  })

  it('exports what pg exports, with the verified Client and Pool and no native binding', () => {
    for (const key of ['Connection', 'types', 'Query', 'DatabaseError', 'escapeIdentifier', 'escapeLiteral', 'Result', 'TypeOverrides', 'defaults'] as const) {
      assert.equal(azurePg[key], pg[key], key)
    }
    assert.equal(azurePg.Client, Client)
    assert.equal(azurePg.Pool, Pool)
    assert.equal(azurePg.native, null)
    assert.equal(azurePg.escapeIdentifier('a"b'), '"a""b"')
    assert.throws(() => new Pool({ Client: pg.Client } as never), /Client/)
  })
})

describe('Azure environment conventions, end to end', () => {
  it('connects from the Service Connector variables alone (no options)', async () => {
    const client = new Client({
      env: {
        AZURE_POSTGRESQL_HOST: AZURE_HOST, AZURE_POSTGRESQL_PORT: String(lab.server('good').port), AZURE_POSTGRESQL_DATABASE: 'postgres',
        AZURE_POSTGRESQL_USER: LOGINS.flexible.user, AZURE_POSTGRESQL_PASSWORD: LOGINS.flexible.password, AZURE_POSTGRESQL_SSL: 'true',
        PGHOSTADDR: '127.0.0.1', PGSSLROOTCERT: lab.rootPath,
      },
    })
    assert.deepEqual(await facts(client), { current_user: 'myadmin', ssl: true })
  })

  it('connects from DATABASE_URL alone', async () => {
    const url = `postgresql://myadmin:${LOGINS.flexible.password}@${AZURE_HOST}:${lab.server('good').port}/postgres?sslmode=require&hostaddr=127.0.0.1&sslrootcert=${encodeURIComponent(lab.rootPath)}`
    assert.deepEqual(await facts(new Client({ env: { DATABASE_URL: url } })), { current_user: 'myadmin', ssl: true })
  })
})
