// The host loop leaves nothing behind and every promise settles: after a connect that tried every server
// and failed, after end() called while the loop waits on a server that never answers, and with queries
// queued before connect() finished; a session the loop moved past (a standby where a primary is wanted) is
// closed; and a cancel from a host-list client goes to the server the query runs on.
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { Client as DropInClient } from '../../src/connect/pg.js'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { PRIMARY_HOST, STANDBY_HOST, startHaPair, type HaPair } from '../../lab/ha-pair.js'
import { LOGINS } from '../../lab/lab.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { listenOnLoopback, SocketSet } from '../../lab/tcp-server.js'
import { activeCounts, settledReading } from '../support/handles.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(8000)
const SOCKETS = ['TCPSocketWrap', 'TLSWrap'] as const

let pair: HaPair
let closedPort: number
let silent: { port: number; close(): Promise<void> }

/** A server that accepts TCP, reads everything and never answers; it closes when the client does (its socket is counted too). */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new SocketSet()
  const server: Server = createServer((s: Socket) => { sockets.track(s).on('data', () => undefined).on('end', () => s.destroy()) })
  const port = await listenOnLoopback(server)
  return { port, close: () => sockets.close(server) }
}

before(async () => {
  pair = await startHaPair({ synchronous: false })
  closedPort = await refusingPort()
  silent = await startSilentServer()
})
after(async () => {
  await silent?.close()
  await pair?.stop()
})

function options(hosts: ReadonlyArray<[string, number]>, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: hosts.map(([h]) => h), hostaddr: hosts.map(() => '127.0.0.1'), port: hosts.map(([, p]) => p), database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: pair.rootPath, env: {}, connectionTimeoutMillis: 5000, learn: 'memory', ...extra,
  }
}

async function rejects(p: Promise<unknown>, what: string): Promise<AzurePgError> {
  const outcome = await within(p.then(() => undefined, (err: unknown) => err), what)
  assert.ok(outcome instanceof AzurePgError, `${what}: expected an AzurePgError, got ${String(outcome)}`)
  return outcome
}

describe('the host loop settles everything', () => {
  it('a failed list: connect() rejects; a query queued before it, end() and end(callback) settle; no socket stays open', async () => {
    const before = await settledReading(() => activeCounts(SOCKETS), 2000)
    // The standby is reached and moved past (not a primary), the second server is down.
    const client = await createAzurePgClient(options([[STANDBY_HOST, pair.standby.port], [PRIMARY_HOST, closedPort]], { target_session_attrs: 'primary' }))
    const connecting = client.connect()
    const queued = client.query('SELECT 1')
    const err = await rejects(connecting, 'connect()')
    assert.equal(err.errors.length, 2)
    await rejects(queued, 'the query queued before connect() settled')
    await rejects(client.query('SELECT 1'), 'a query after the failure')
    await within(client.end(), 'end()')
    await within(new Promise<void>((resolve) => { client.end(() => resolve()) }), 'end(callback)')
    assert.deepEqual(await settledReading(() => activeCounts(SOCKETS), 2000), before, 'no socket left open')
  })

  for (const kind of ['createAzurePgClient', 'drop-in Client'] as const) {
    it(`${kind}: end() while the loop waits on a server that never answers settles, and the connect() rejects saying so`, async () => {
      const before = await settledReading(() => activeCounts(SOCKETS), 2000)
      const opts = options([[PRIMARY_HOST, silent.port], [STANDBY_HOST, pair.standby.port]], { connectionTimeoutMillis: 60_000 })
      const client: pg.Client = kind === 'createAzurePgClient' ? await createAzurePgClient(opts) : new DropInClient(opts)
      const connecting = client.connect()
      await new Promise((resolve) => setTimeout(resolve, 200))
      await within(client.end(), 'end() while connecting')
      const err = await rejects(connecting, 'the overtaken connect()')
      assert.equal(err.code, 'CONNECTION_FAILED')
      assert.match(err.message, /was ended \(end\(\)\) before/)
      assert.deepEqual(await settledReading(() => activeCounts(SOCKETS), 2000), before, 'no socket left open')
    })
  }

  it('a session moved past is closed on the server (no backend left behind)', async () => {
    const count = async (): Promise<number> => Number((await pair.admin('standby', "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1", [LOGINS.flexible.user])).rows[0]?.n)
    const client = await createAzurePgClient(options([[STANDBY_HOST, pair.standby.port], [PRIMARY_HOST, pair.primary.port]], { target_session_attrs: 'read-write' }))
    await within(client.connect(), 'connect()')
    assert.equal(await settledReading(count, 3000), 0)
    await client.end()
  })

  it('a pool of a host list serves queries and ends cleanly', async () => {
    const before = await settledReading(() => activeCounts(SOCKETS), 2000)
    const pool = await createAzurePgPool({ ...options([[PRIMARY_HOST, closedPort], [STANDBY_HOST, pair.standby.port]]), max: 3 })
    const ports = await Promise.all([1, 2, 3].map(async () => (await within(pool.query<{ p: number }>('SELECT inet_server_port() AS p, pg_sleep(0.05)'), 'query')).rows[0]?.p))
    assert.deepEqual(ports, [pair.standby.port, pair.standby.port, pair.standby.port])
    await within(pool.end(), 'pool.end()')
    assert.deepEqual(await settledReading(() => activeCounts(SOCKETS), 2000), before, 'no socket left open')
  })

  it('cancel() reaches the server the query runs on (the second of the list), over verified TLS', async () => {
    const opts = options([[PRIMARY_HOST, closedPort], [STANDBY_HOST, pair.standby.port]])
    const client = await createAzurePgClient(opts)
    await within(client.connect(), 'connect()')
    const running = client.query('SELECT pg_sleep(30)')
    await new Promise((resolve) => setTimeout(resolve, 300))
    const canceller = await createAzurePgClient(opts)
    ;(canceller as unknown as { cancel(c: pg.Client, q: unknown): void }).cancel(client, (client as unknown as { _activeQuery: unknown })._activeQuery)
    const err = await within(running.then(() => undefined, (e: unknown) => e), 'the cancelled query')
    assert.equal((err as { code?: string }).code, '57014', String(err))
    await client.end()
  })
})
