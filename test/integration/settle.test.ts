// Every promise the SDK hands out settles, after any failure in any phase: a matrix of each TLS
// negotiation × each kind of failure × what an application does next (end(), end(callback), query(), a
// pool's query() in both forms, connect(), release() and end()). Real PostgreSQL 18 servers, stand-ins
// for what PostgreSQL cannot do (a direct TLS server without ALPN, a server that never answers), and a
// relay standing in for the network (a name that moves to another server, a reset, a peer that never closes).
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { forgetLearnedFacts } from '../../src/connect/learned-facts.js'
import { Client as DropInClient } from '../../src/connect/pg.js'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startFakeTlsServer, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { AZURE_HOST, LOGINS, createLogins, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { startTcpRelay, type TcpRelay } from '../../lab/tcp-relay.js'
import { listenOnLoopback, SocketSet } from '../../lab/tcp-server.js'
import { activeCounts, settledReading } from '../support/handles.js'
import { timeLimit } from '../support/within.js'

/** Settling means within this; a hang fails the test with the step's name instead of the runner's timeout. */
const within = timeLimit(8000)
/** The connect limit of the connections that are meant to succeed (or fail for another reason). */
const CONNECT_LIMIT_MS = 10_000
/** The connect limit against the server that never answers: its failure is the time limit running out. */
const SILENT_LIMIT_MS = 300

let lab: Lab
let leafOnly: RunningPostgres
let noAlpn: FakeTlsServer
let silent: { port: number; close(): Promise<void> }
let closedPort: number
const relays: TcpRelay[] = []

/** A server that accepts TCP, reads everything and never answers nor closes (not even on the client's FIN). */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new SocketSet()
  const server: Server = createServer({ allowHalfOpen: true }, (s: Socket) => { sockets.track(s).on('data', () => undefined) })
  const port = await listenOnLoopback(server)
  return { port, close: () => sockets.close(server) }
}

before(async () => {
  lab = await startLab(['good', 'wrongName'])
  // The Azure 2025–26 rotation case in its simplest form: the server sends its leaf without the issuing CA.
  const leaf = await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] })
  leafOnly = await startPostgres({ tls: { certChainPem: leaf.leafPem, keyPem: leaf.keyPem } })
  await createLogins(leafOnly)
  noAlpn = await startFakeTlsServer('direct-without-alpn', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
  silent = await startSilentServer()
  closedPort = await refusingPort()
})
after(async () => {
  await Promise.all([...relays.map((r) => r.close()), noAlpn?.close(), silent?.close(), leafOnly?.stop()])
  await lab?.stop()
})

type Negotiation = 'postgres' | 'direct' | 'auto, new server' | 'auto, known direct'
const NEGOTIATIONS: readonly Negotiation[] = ['postgres', 'direct', 'auto, new server', 'auto, known direct']

type Failure = 'wrong host name' | 'incomplete chain' | 'direct TLS without ALPN' | 'refused' | 'no answer' | 'wrong password'
const FAILURES: readonly Failure[] = ['wrong host name', 'incomplete chain', 'direct TLS without ALPN', 'refused', 'no answer', 'wrong password']

function targetOf(failure: Failure): number {
  switch (failure) {
    case 'wrong host name': return lab.server('wrongName').port
    case 'incomplete chain': return leafOnly.port
    case 'direct TLS without ALPN': return noAlpn.port
    case 'refused': return closedPort
    case 'no answer': return silent.port
    case 'wrong password': return lab.server('good').port
  }
}

function options(port: number, negotiation: Negotiation, failure: Failure | undefined, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user,
    password: failure === 'wrong password' ? 'not-the-password' : LOGINS.flexible.password,
    sslrootcert: lab.rootPath, env: {}, connectionTimeoutMillis: failure === 'no answer' ? SILENT_LIMIT_MS : CONNECT_LIMIT_MS, learn: 'memory',
    sslnegotiation: negotiation.startsWith('auto') ? 'auto' : negotiation as 'postgres' | 'direct', ...extra,
  }
}

/**
 * A relay whose name the failing server now answers to. For "auto, known direct" the relay first leads to a
 * good PostgreSQL 18 until the SDK has learned that the server takes direct TLS (as after a failover or a
 * certificate change behind the same name), then to the failing one.
 */
async function failingServer(negotiation: Negotiation, failure: Failure): Promise<number> {
  const relay = await startTcpRelay({ host: '127.0.0.1', port: negotiation === 'auto, known direct' ? lab.server('good').port : targetOf(failure) })
  relays.push(relay)
  if (negotiation === 'auto, known direct') {
    for (let i = 0; i < 2; i++) {
      const c = await createAzurePgClient(options(relay.port, negotiation, undefined))
      await within(c.connect(), 'warm-up connect')
      await within(c.end(), 'warm-up end')
    }
    // The second warm-up went in directly: only then is the fact known (the ClientHello is on the wire first).
    assert.equal(relay.connections()[1]?.firstBytes[0], 0x16, 'the second warm-up connection used direct TLS')
    relay.retarget({ host: '127.0.0.1', port: targetOf(failure) })
  }
  return relay.port
}

/** Awaits `p`, which must reject with an AzurePgError, within the limit. */
async function rejects(p: Promise<unknown>, what: string): Promise<AzurePgError> {
  const outcome = await within(p.then(() => undefined, (err: unknown) => err), what)
  assert.ok(outcome instanceof AzurePgError, `${what}: expected an AzurePgError, got ${String(outcome)}`)
  return outcome
}

/** Calls a callback-style function and resolves with what its callback got, within the limit. */
function viaCallback(f: (cb: (err?: unknown) => void) => void, what: string): Promise<unknown> {
  return within(new Promise<unknown>((resolve) => { f((err) => resolve(err)) }), what)
}

describe('after a failed connect, everything settles', () => {
  before(() => forgetLearnedFacts())
  for (const negotiation of NEGOTIATIONS) {
    for (const failure of FAILURES) {
      it(`${negotiation} × ${failure}: connect() rejects; end(), end(callback) and query() settle`, async () => {
        const port = await failingServer(negotiation, failure)
        const client = await createAzurePgClient(options(port, negotiation, failure))
        await rejects(client.connect(), 'connect()')
        await rejects(client.query('SELECT 1'), 'query() after the failure')
        await within(client.end(), 'end()')
        await within(client.end(), 'a second end()')

        const other = await createAzurePgClient(options(port, negotiation, failure))
        await rejects(other.connect(), 'connect() of a second client')
        assert.equal(await viaCallback((cb) => { other.end(cb) }, 'end(callback)'), undefined)
      })

      it(`${negotiation} × ${failure}: a pool's query() (promise and callback), connect() and end() settle`, async () => {
        const port = await failingServer(negotiation, failure)
        const pool = await createAzurePgPool(options(port, negotiation, failure, { max: 2 }))
        await rejects(pool.query('SELECT 1'), 'pool.query()')
        const viaCb = await viaCallback((cb) => { pool.query('SELECT 1', cb) }, 'pool.query(sql, callback)')
        assert.ok(viaCb instanceof AzurePgError, `pool.query(sql, callback) got ${String(viaCb)}`)
        await rejects(pool.connect(), 'pool.connect()')
        await within(pool.end(), 'pool.end()')
      })
    }
  }
})

describe('a connection lost after login', () => {
  for (const negotiation of NEGOTIATIONS) {
    it(`${negotiation}: the query rejects; end(), release() and the pool's end() settle`, async () => {
      const relay = await startTcpRelay({ host: '127.0.0.1', port: lab.server('good').port })
      relays.push(relay)
      if (negotiation === 'auto, known direct') {
        const warm = await createAzurePgClient(options(relay.port, negotiation, undefined))
        await within(warm.connect(), 'warm-up connect')
        await within(warm.end(), 'warm-up end')
      }
      const client = await createAzurePgClient(options(relay.port, negotiation, undefined))
      await within(client.connect(), 'connect()')
      const pool = await createAzurePgPool(options(relay.port, negotiation, undefined, { max: 2 }))
      const pooled = await within(pool.connect(), 'pool.connect()')
      // As pg asks of an application: a connection lost while a client is out is also an 'error' event on it.
      const errorEvents: unknown[] = []
      for (const c of [client, pooled]) c.on('error', (err: unknown) => errorEvents.push(err))
      const running = [client.query('SELECT pg_sleep(20)'), pooled.query('SELECT pg_sleep(20)')]
      await new Promise((resolve) => setTimeout(resolve, 100))
      relay.cut()
      for (const outcome of await within(Promise.allSettled(running), 'the running queries')) {
        assert.equal(outcome.status, 'rejected')
        const err: unknown = outcome.status === 'rejected' ? outcome.reason : undefined
        assert.ok(err instanceof AzurePgError && err.code === 'CONNECTION_FAILED', `a running query got ${String(err)}`)
      }
      assert.ok(errorEvents.every((e) => e instanceof AzurePgError), 'the error events are AzurePgErrors too')
      await within(client.end(), 'end()')
      pooled.release(new Error('lost'))
      await within(pool.end(), 'pool.end()')
    })
  }
})

describe('a connect refused before any socket opens', () => {
  const refusals: Array<[string, () => Promise<pg.Client>]> = [
    ['an SDK client whose port was changed after creation', async () => {
      const c = await createAzurePgClient(options(lab.server('good').port, 'postgres', undefined))
      ;(c as unknown as { port: number }).port = closedPort
      return c
    }],
    ["azure-pg-tls/pg's Client with sslmode=disable", async () => new DropInClient(options(lab.server('good').port, 'postgres', undefined, { sslmode: 'disable' }))],
    ["azure-pg-tls/pg's Client with a missing sslrootcert", async () => new DropInClient(options(lab.server('good').port, 'postgres', undefined, { sslrootcert: '/nonexistent/root.pem' }))],
  ]
  for (const [name, make] of refusals) {
    it(`${name}: connect() rejects, and queries queued before and sent after settle`, async () => {
      const client = await make()
      const queued = client.query('SELECT 1')
      const connecting = client.connect()
      await rejects(connecting, 'connect()')
      await rejects(queued, 'the query queued before connect() settled')
      await rejects(client.query('SELECT 1'), 'query() after the refusal')
      assert.ok(await viaCallback((cb) => { client.query('SELECT 1', cb) }, 'query(sql, callback) after the refusal') instanceof AzurePgError)
      await within(client.end(), 'end()')
    })
  }
})

describe("azure-pg-tls/pg's Client keeps what happened before connect() finished preparing", () => {
  it('answers a query issued right after connect(), before the connection is ready', async () => {
    const client = new DropInClient(options(lab.server('good').port, 'postgres', undefined))
    const connecting = client.connect()
    const early = client.query('SELECT 41 + 1 AS answer')
    await within(connecting, 'connect()')
    assert.equal((await within(early, 'the early query')).rows[0]?.answer, 42)
    await within(client.end(), 'end()')
  })

  it('keeps the type parsers set before connect()', async () => {
    const client = new DropInClient(options(lab.server('good').port, 'postgres', undefined))
    client.setTypeParser(23, 'text', (v: string) => `parsed(${v})`)
    await within(client.connect(), 'connect()')
    assert.equal((await within(client.query('SELECT 42::int4 AS v'), 'query()')).rows[0]?.v, 'parsed(42)')
    await within(client.end(), 'end()')
  })

  for (const order of ['end() then connect()', 'connect() and end() in the same tick'] as const) {
    it(`${order}: connect() rejects and no socket stays open`, async () => {
      const before = await settledReading(() => activeCounts(['TCPSocketWrap', 'TLSWrap']), 2000)
      const client = new DropInClient(options(lab.server('good').port, 'postgres', undefined))
      let connecting: Promise<unknown>
      if (order === 'end() then connect()') {
        await within(client.end(), 'end()')
        connecting = client.connect()
      } else {
        connecting = client.connect()
        await within(client.end(), 'end()')
      }
      assert.equal((await rejects(connecting, 'connect()')).code, 'CONNECTION_FAILED')
      await rejects(client.query('SELECT 1'), 'query() after end()')
      assert.deepEqual(await settledReading(() => activeCounts(['TCPSocketWrap', 'TLSWrap']), 2000), before, 'no socket left open')
    })
  }
})

describe('end() has a time limit', () => {
  for (const negotiation of ['postgres', 'direct'] as const) {
    it(`${negotiation}: settles, and the connect() it overtook rejects saying so, when end() is called while connecting to a server that never answers`, async () => {
      const client = await createAzurePgClient(options(silent.port, negotiation, undefined, { connectionTimeoutMillis: 60_000 }))
      const connecting = client.connect()
      await new Promise((resolve) => setTimeout(resolve, 100))
      await within(client.end(), 'end() while connecting')
      const err = await rejects(connecting, 'the overtaken connect()')
      assert.equal(err.code, 'CONNECTION_FAILED')
      assert.match(err.message, /was ended \(end\(\)\) before/)
    })
  }

  it('settles when the server never closes its side after the Terminate message', async () => {
    const relay = await startTcpRelay({ host: '127.0.0.1', port: lab.server('good').port }, { neverClose: true })
    relays.push(relay)
    const client = await createAzurePgClient(options(relay.port, 'postgres', undefined))
    await within(client.connect(), 'connect()')
    assert.equal((await within(client.query('SELECT 1 AS one'), 'query()')).rows[0]?.one, 1)
    await within(client.end(), 'end() against a peer that never closes')
  })
})

describe('pool entry points never throw where pg would reject', () => {
  it('a client refused at construction reaches pool.query() (promise and callback) and pool.connect() as an AzurePgError', async () => {
    const pool = await createAzurePgPool(options(lab.server('good').port, 'postgres', undefined, { max: 2 }))
    // The TLS options pg-pool gives each new client, changed after the pool was made: every new client is refused.
    const internals = pool as unknown as { options: { ssl: Record<string, unknown> } }
    internals.options.ssl = { ...internals.options.ssl, rejectUnauthorized: false }
    let promise: Promise<unknown> | undefined
    assert.doesNotThrow(() => { promise = pool.query('SELECT 1') }, 'pool.query() must not throw')
    assert.equal((await rejects(promise as Promise<unknown>, 'pool.query()')).code, 'INSECURE_TLS')
    let viaCb: Promise<unknown> | undefined
    assert.doesNotThrow(() => { viaCb = viaCallback((cb) => { pool.query('SELECT 1', cb) }, 'pool.query(sql, callback)') })
    const err = await viaCb
    assert.ok(err instanceof AzurePgError && err.code === 'INSECURE_TLS', `pool.query(sql, callback) got ${String(err)}`)
    let checkout: Promise<unknown> | undefined
    assert.doesNotThrow(() => { checkout = pool.connect() }, 'pool.connect() must not throw')
    assert.equal((await rejects(checkout as Promise<unknown>, 'pool.connect()')).code, 'INSECURE_TLS')
    await within(pool.end(), 'pool.end()')
  })

  it('a checkout waiting in the queue gets the refusal when a release makes room for it', async () => {
    const pool = await createAzurePgPool(options(lab.server('good').port, 'postgres', undefined, { max: 1 }))
    const first = await within(pool.connect(), 'first checkout')
    const waiting = pool.connect()
    const internals = pool as unknown as { options: { ssl: Record<string, unknown> } }
    internals.options.ssl = { ...internals.options.ssl, rejectUnauthorized: false }
    // Released with an error, the client is removed; pg-pool then opens a new one for the waiting checkout.
    assert.doesNotThrow(() => first.release(new Error('discard')), 'release() must not throw')
    assert.equal((await rejects(waiting, 'the waiting checkout')).code, 'INSECURE_TLS')
    await within(pool.end(), 'pool.end()')
  })
})

describe('query() forwards the caller\'s arguments exactly as given', () => {
  it('passes one, two or three arguments through to pg as they came', async () => {
    const client = await createAzurePgClient(options(lab.server('good').port, 'postgres', undefined))
    await within(client.connect(), 'connect()')
    const seen: number[] = []
    const base = pg.Client.prototype.query as (...args: unknown[]) => unknown
    // An instrumentation that wraps pg's query (as OpenTelemetry's does) sees the caller's own arguments.
    const wrapped = function (this: pg.Client, ...args: unknown[]): unknown {
      seen.push(args.length)
      return base.apply(this, args)
    }
    const proto = pg.Client.prototype as unknown as { query: unknown }
    proto.query = wrapped
    try {
      await within(client.query('SELECT 1'), 'query(sql)')
      await within(new Promise((resolve, reject) => { client.query('SELECT 1', (err: Error | null) => (err === null ? resolve(undefined) : reject(err))) }), 'query(sql, callback)')
      await within(client.query('SELECT $1::int', [1]), 'query(sql, values)')
    } finally {
      proto.query = base
      await within(client.end(), 'end()')
    }
    assert.deepEqual(seen, [1, 2, 2])
  })
})
