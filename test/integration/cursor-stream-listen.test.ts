// pg-cursor, pg-query-stream and LISTEN/NOTIFY on the SDK's clients, with no glue: each is used as
// its own README shows, on clients from createAzurePgClient, createAzurePgPool and azure-pg-tls/pg,
// against the lab's real PostgreSQL 18 (reached by name through hostaddr, TLS verified).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import Cursor from 'pg-cursor'
import QueryStream from 'pg-query-stream'
import { Client, Pool } from 'azure-pg-tls/pg'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, LOGINS, startLab, type Lab } from '../../lab/lab.js'

let lab: Lab
before(async () => { lab = await startLab(['good']) })
after(async () => { await lab?.stop() })

function options(): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS,
  }
}

const ROWS = 10_000
/** 1 + 2 + … + ROWS: what every reader must add up to, each row once. */
const SUM = (ROWS * (ROWS + 1)) / 2
const SERIES = 'SELECT g FROM generate_series(1, $1::int) AS g'
/** Each test's own limit: a client that never delivers (rows, a notification) fails its test, not the whole file. */
const LIMIT = { timeout: 20_000 }

/** A connected client of one of the SDK's three ways, and how to give it back. */
interface Lease {
  readonly client: pg.ClientBase
  release(): Promise<void>
}

/** The three ways to get a client: each is opened fresh per test and closed by `release`. */
const WAYS: ReadonlyArray<readonly [name: string, open: () => Promise<Lease>]> = [
  ['createAzurePgClient', async () => {
    const client = await createAzurePgClient(options())
    await client.connect()
    return { client, release: () => client.end() }
  }],
  ['createAzurePgPool', async () => {
    const pool = await createAzurePgPool({ ...options(), max: 2 })
    const client = await pool.connect()
    return { client, release: async () => { client.release(); await pool.end() } }
  }],
  ['azure-pg-tls/pg Client', async () => {
    const client = new Client(options())
    await client.connect()
    return { client, release: () => client.end() }
  }],
  ['azure-pg-tls/pg Pool', async () => {
    const pool = new Pool({ ...options(), max: 2 })
    const client = await pool.connect()
    return { client, release: async () => { client.release(); await pool.end() } }
  }],
]

/** The session is TLS (pg_stat_ssl) and still answers an ordinary query: whatever ran before left it clean. */
async function assertCleanTlsSession(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ ssl: boolean; one: number }>('SELECT s.ssl, 1 AS one FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')
  assert.deepEqual(rows, [{ ssl: true, one: 1 }])
}

for (const [way, open] of WAYS) {
  describe(`pg-cursor on ${way}`, () => {
    it(`reads ${ROWS} rows in batches of 1000, closes, and the client goes on`, LIMIT, async () => {
      const lease = await open()
      try {
        const cursor = lease.client.query(new Cursor<{ g: number }>(SERIES, [ROWS]))
        const batches: number[] = []
        let sum = 0
        for (let rows = await cursor.read(1000); rows.length > 0; rows = await cursor.read(1000)) {
          batches.push(rows.length)
          for (const r of rows) sum += r.g
        }
        await cursor.close()
        assert.deepEqual(batches, Array.from({ length: ROWS / 1000 }, () => 1000))
        assert.equal(sum, SUM)
        await assertCleanTlsSession(lease.client)
      } finally {
        await lease.release()
      }
    })

    it('is closed half-way through, and the client goes on', LIMIT, async () => {
      const lease = await open()
      try {
        const cursor = lease.client.query(new Cursor<{ g: number }>(SERIES, [ROWS]))
        assert.deepEqual((await cursor.read(3)).map((r) => r.g), [1, 2, 3])
        await cursor.close()
        await assertCleanTlsSession(lease.client)
      } finally {
        await lease.release()
      }
    })
  })

  describe(`pg-query-stream on ${way}`, () => {
    it(`streams ${ROWS} rows to the end, and the client goes on`, LIMIT, async () => {
      const lease = await open()
      try {
        const stream = lease.client.query(new QueryStream(SERIES, [ROWS], { batchSize: 500 }))
        let count = 0
        let sum = 0
        for await (const row of stream as AsyncIterable<{ g: number }>) {
          count++
          sum += row.g
        }
        assert.deepEqual([count, sum], [ROWS, SUM])
        await assertCleanTlsSession(lease.client)
      } finally {
        await lease.release()
      }
    })

    it('is destroyed early (a consumer that stops reading), and the client goes on', LIMIT, async () => {
      const lease = await open()
      try {
        const stream = lease.client.query(new QueryStream(SERIES, [ROWS], { batchSize: 100 }))
        let count = 0
        for await (const row of stream as AsyncIterable<{ g: number }>) {
          assert.equal(row.g, ++count)
          if (count === 250) break
        }
        assert.equal(stream.destroyed, true)
        await assertCleanTlsSession(lease.client)
      } finally {
        await lease.release()
      }
    })
  })
}

describe('LISTEN/NOTIFY', () => {
  // Every pair of ways: a listener of each way, told by a notifier of each way (16 pairs, one channel each).
  for (const [listenerWay, openListener] of WAYS) {
    for (const [notifierWay, openNotifier] of WAYS) {
      it(`a ${listenerWay} client that LISTENs receives what a ${notifierWay} client NOTIFYs`, LIMIT, async () => {
        const listener = await openListener()
        const notifier = await openNotifier()
        try {
          const channel = `ch_${Math.random().toString(36).slice(2, 10)}`
          await listener.client.query(`LISTEN ${channel}`)
          const arrived = once(listener.client, 'notification', { signal: AbortSignal.timeout(LAB_CONNECT_TIMEOUT_MS) }) as Promise<[pg.Notification]>
          const payload = `hello from ${notifierWay}: é ✓`
          await notifier.client.query('SELECT pg_notify($1, $2)', [channel, payload])
          const [message] = await arrived
          assert.deepEqual([message.channel, message.payload], [channel, payload])
          assert.notEqual(message.processId, (listener.client as unknown as { processID: number }).processID, 'from the other session')
          await assertCleanTlsSession(listener.client)
        } finally {
          await Promise.all([listener.release(), notifier.release()])
        }
      })
    }
  }
})
