// The SDK under network faults: the lab's fault proxy (lab/fault-proxy.ts) breaks connections to a real
// PostgreSQL 18 at each phase of the conversation with a reset, a silent stall or a close. Every failure
// must be an AzurePgError naming its code, reason and phase; nothing may stay open afterwards; a pool
// that saw the fault must serve again once the network heals. Then a server restart under a busy pool: the
// statements the server ended are FAILOVER (retry the transaction), and the same server coming back is no failover.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions, type ConnectionFailureReason, type ConnectionPhase } from '../../src/index.js'
import { FAULT_KINDS, FAULT_PHASES, startFaultProxy, type FaultKind, type FaultPhase, type FaultProxy } from '../../lab/fault-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { startCountingListener } from '../../lab/counting-listener.js'
import { activeCounts, settledReading, waitUntil } from '../support/handles.js'
import { timeLimit } from '../support/within.js'

/** Every wait in this file has this limit. */
const LIMIT_MS = 15_000
/** The connect time limit (and query_timeout) of the clients under test: short, so stalls end soon. */
const STALL_LIMIT_MS = 1500
/** An answer of about 300 kB: several TLS records, so the proxy can break it in the middle. */
const BIG_QUERY = "SELECT repeat('x', 1000) FROM generate_series(1, 300)"

const within = timeLimit(LIMIT_MS)

/** The handles a leaked connection would leave: sockets, TLS sessions, timers. */
const WATCHED = ['TCPSocketWrap', 'TLSWrap', 'Timeout'] as const
type Counts = Record<(typeof WATCHED)[number], number>

const counts = (): Counts => activeCounts(WATCHED)

/** Counts once the sockets closed by earlier steps have finished closing (two equal readings in a row). */
const settled = (): Promise<Counts> => settledReading(counts, LIMIT_MS)

/** Waits (with a limit) until no watched handle count is above its baseline, then asserts it. */
async function backTo(baseline: Counts): Promise<void> {
  const above = (): string[] => WATCHED.filter((k) => counts()[k] > baseline[k])
  await waitUntil(() => above().length === 0, LIMIT_MS)
  assert.deepEqual(above(), [], `handles left open: ${JSON.stringify(counts())} vs ${JSON.stringify(baseline)} (${process.getActiveResourcesInfo().join(', ')})`)
}

function assertFailure(err: unknown, expected: { reason: ConnectionFailureReason; phase: ConnectionPhase; words: RegExp }, what: string): AzurePgError {
  assert.ok(err instanceof AzurePgError, `${what}: expected an AzurePgError, got ${String(err)}`)
  assert.equal(err.code, 'CONNECTION_FAILED', `${what}: ${err.message}`)
  assert.equal(err.reason, expected.reason, `${what}: ${err.message}`)
  assert.equal(err.phase, expected.phase, `${what}: ${err.message}`)
  assert.match(err.message, expected.words, what)
  assert.ok(err.hint.length > 0)
  assert.ok(err.cause !== undefined, `${what}: keeps the original error`)
  return err
}

/** The phase each proxy fault point falls in, as the client sees it, and how the message says it. */
const PHASES: Record<FaultPhase, { phase: ConnectionPhase; words: RegExp }> = {
  // The kernel completes the TCP handshake before the proxy accepts: the client has sent its SSLRequest.
  accept: { phase: 'tls-request', words: /while waiting for the answer to the TLS request/ },
  'ssl-request': { phase: 'tls-request', words: /while waiting for the answer to the TLS request/ },
  'tls-handshake': { phase: 'tls-handshake', words: /during the TLS handshake/ },
  startup: { phase: 'startup', words: /after the startup message, before the server asked for credentials/ },
  auth: { phase: 'authentication', words: /during authentication/ },
  result: { phase: 'query', words: /after login, during or between queries/ },
}
const REASONS: Record<FaultKind, ConnectionFailureReason> = { rst: 'reset', close: 'closed', stall: 'timeout' }

describe('faults at every phase', () => {
  let lab: Lab
  let proxy: FaultProxy

  before(async () => {
    lab = await startLab(['good'])
    proxy = await startFaultProxy({ upstreamPort: lab.server('good').port })
  })
  after(async () => {
    await proxy?.close()
    await lab?.stop()
  })

  const through = (port: number, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions => ({
    host: AZURE_HOST, hostaddr: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user,
    password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {}, connectionTimeoutMillis: STALL_LIMIT_MS,
    // Each fault is placed by phase of the classic negotiation: learn nothing that would switch to direct TLS.
    learn: 'off', ...extra,
  })

  // Every phase and fault; then a lost connection during a query without query_timeout, where pg hands the
  // error to the running query through the client rather than through the query's own timer.
  const cases = [
    ...FAULT_PHASES.flatMap((phase) => FAULT_KINDS.map((fault) => ({ phase, fault, queryTimeout: phase === 'result' }))),
    ...(['rst', 'close'] as FaultKind[]).map((fault) => ({ phase: 'result' as FaultPhase, fault, queryTimeout: false })),
  ]
  for (const { phase, fault, queryTimeout } of cases) {
    const title = `${fault} at ${phase}${phase === 'result' && !queryTimeout ? ' (no query_timeout)' : ''}`
    it(`${title}: ${REASONS[fault]} in phase ${PHASES[phase].phase}, nothing left open, the pool recovers`, async () => {
      const baseline = await settled()
      // A stall in a query is bounded by query_timeout; connect stalls by the connect time limit.
      const options = through(proxy.port, { max: 1, ...(queryTimeout && { query_timeout: STALL_LIMIT_MS }) })
      const client = await createAzurePgClient(options)
      const pool = await createAzurePgPool(options)
      const emitted: unknown[] = []
      client.on('error', (e) => emitted.push(e))
      pool.on('error', (e) => emitted.push(e))
      proxy.inject({ phase, fault })
      const fired = proxy.nextFault(LIMIT_MS)
      try {
        const [direct, pooled] = await within(Promise.all([
          (async () => { await client.connect(); await client.query(BIG_QUERY) })().then(() => undefined, (e: unknown) => e),
          pool.query(BIG_QUERY).then(() => undefined, (e: unknown) => e),
        ]), 'both attempts to fail')
        await fired
        const expected = { ...PHASES[phase], reason: REASONS[fault] }
        const seen: Array<[string, unknown]> = [['client', direct], ['pool', pooled], ...emitted.map((x): [string, unknown] => ["an 'error' event", x])]
        for (const [what, e] of seen) {
          // A reset right at accept can reach the client before its own connect completes (the kernel
          // reports it as the connect's result): then the client was still opening the TCP connection.
          const early = phase === 'accept' && fault === 'rst' && e instanceof AzurePgError && e.phase === 'tcp'
          // A reset while the answer streams in: pg watches both the TCP socket and the TLS socket on
          // it, and the TCP socket's close can reach it before the TLS socket's ECONNRESET.
          const endFirst = phase === 'result' && fault === 'rst' && e instanceof AzurePgError && e.reason === 'closed'
          assertFailure(e, early ? { ...expected, phase: 'tcp', words: /while opening the TCP connection/ } : endFirst ? { ...expected, reason: 'closed' } : expected, what)
        }
        assert.ok(proxy.connections().filter((c) => c.fired !== undefined).length >= 2)
      } finally {
        proxy.heal()
      }
      const r = await within(pool.query<{ n: number }>('SELECT 42 AS n'), 'the pool after healing')
      assert.equal(r.rows[0]?.n, 42)
      await client.end().catch(() => undefined)
      await pool.end()
      await backTo(baseline)
    })
  }

  it('nothing listening: refused in phase tcp', async () => {
    const baseline = await settled()
    const closed = await startCountingListener()
    const port = closed.port
    await closed.close()
    const client = await createAzurePgClient(through(port))
    const err = await client.connect().then(() => undefined, (e: unknown) => e)
    assertFailure(err, { reason: 'refused', phase: 'tcp', words: /while opening the TCP connection/ }, 'client')
    await backTo(baseline)
  })

  it('SQL errors stay pg errors: a syntax error on a healthy connection is not a connection failure', async () => {
    const client = await createAzurePgClient(through(proxy.port))
    await client.connect()
    try {
      const err = await client.query('SELEKT 1').then(() => undefined, (e: unknown) => e)
      assert.ok(err instanceof pg.DatabaseError, String(err))
      assert.equal((err as pg.DatabaseError).code, '42601')
      // Errors raised by SQL that imitate a lost connection, by text or by SQLSTATE, are SQL errors too.
      for (const [sql, code] of [
        ["DO $$BEGIN RAISE EXCEPTION 'Connection terminated'; END$$", 'P0001'],
        ["DO $$BEGIN RAISE EXCEPTION USING ERRCODE = '57P01', MESSAGE = 'terminating connection due to administrator command'; END$$", '57P01'],
      ] as const) {
        const raised = await client.query(sql).then(() => undefined, (e: unknown) => e)
        assert.ok(raised instanceof pg.DatabaseError && !(raised instanceof AzurePgError), `${sql}: ${String(raised)}`)
        assert.equal((raised as pg.DatabaseError).code, code)
      }
      assert.equal((await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n, 1)
    } finally {
      await client.end()
    }
  })

  it('a query that ran out of query_timeout ends its client: the next query says the connection is closed', async () => {
    proxy.inject({ phase: 'result', fault: 'stall' })
    const client = await createAzurePgClient(through(proxy.port, { query_timeout: STALL_LIMIT_MS }))
    client.on('error', () => undefined)
    try {
      await client.connect()
      const first = await within(client.query(BIG_QUERY).then(() => undefined, (e: unknown) => e), 'the timed-out query')
      assertFailure(first, { reason: 'timeout', phase: 'query', words: /within query_timeout/ }, 'timed-out query')
      const next = await within(client.query('SELECT 1').then(() => undefined, (e: unknown) => e), 'the next query')
      assertFailure(next, { reason: 'closed', phase: 'query', words: /closed already/ }, 'next query')
    } finally {
      proxy.heal()
      await client.end().catch(() => undefined)
    }
  })

  it("a query's own query_timeout of 0 does not lift the client's: pg still times it, and so does the SDK's error", async () => {
    proxy.inject({ phase: 'result', fault: 'stall' })
    const pool = await createAzurePgPool(through(proxy.port, { max: 1, query_timeout: STALL_LIMIT_MS }))
    pool.on('error', () => undefined)
    try {
      const err = await within(pool.query({ text: BIG_QUERY, query_timeout: 0 } as pg.QueryConfig).then(() => undefined, (e: unknown) => e), 'the timed-out query')
      assertFailure(err, { reason: 'timeout', phase: 'query', words: /within query_timeout/ }, 'pool query')
    } finally {
      proxy.heal()
      await pool.end()
    }
  })

  it('a server restart under a saturated pool (20 clients, continuous queries): queries resume, every failure has a code', async () => {
    const server = lab.server('good')
    const pool = await createAzurePgPool({ ...through(server.port), max: 20, connectionTimeoutMillis: 5000 })
    const failures: unknown[] = []
    pool.on('error', (e) => failures.push(e))
    const failovers: unknown[] = []
    pool.on('failover', (e) => failovers.push(e))
    let phase: 'before' | 'restarting' | 'after' = 'before'
    const done = { before: 0, after: 0 }
    let stop = false
    const deadline = Date.now() + 60_000
    const worker = async (): Promise<void> => {
      // Bounded: stops when told, or at the deadline whatever happens.
      while (!stop && Date.now() < deadline) {
        try {
          await pool.query('SELECT pg_sleep(0.005)')
          if (phase !== 'restarting') done[phase]++
        } catch (err) {
          failures.push(err)
          await new Promise((r) => setTimeout(r, 25))
        }
      }
    }
    const workers = Array.from({ length: 20 }, worker)
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`${what}: not within the deadline`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    try {
      await until(() => done.before >= 200 && pool.totalCount === 20, 'the pool to saturate')
      phase = 'restarting'
      await server.restart(300)
      phase = 'after'
      await until(() => done.after >= 200, 'queries to resume after the restart')
    } finally {
      stop = true
      await Promise.all(workers)
      await pool.end()
    }
    assert.ok(failures.length > 0, 'the restart broke queries in flight')
    const kinds = new Set<string>()
    for (const f of failures) {
      assert.ok(f instanceof AzurePgError, `a failure without a code: ${String(f)}`)
      assert.ok(f.phase !== undefined, f.message)
      // A statement the server ended (57P01) is FAILOVER: retry the transaction; every other failure
      // (an idle client's loss, a checkout that found no server) is CONNECTION_FAILED with its reason.
      if (f.code === 'FAILOVER') assert.equal(f.phase, 'query', f.message)
      else assert.ok(f.code === 'CONNECTION_FAILED' && f.reason !== undefined, f.message)
      kinds.add(`${f.code}/${f.reason ?? '-'}/${f.phase}`)
    }
    // The restart is a fast shutdown: sessions in a query are ended by the server (57P01).
    assert.ok(kinds.has('FAILOVER/-/query'), [...kinds].join(', '))
    // The same server came back (same address, same certificate): a restart is not a failover.
    assert.deepEqual(failovers, [])
  })
})
