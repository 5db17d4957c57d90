// The failover evidence both SDK pools must give (test/integration/failover*.test.ts): ten writers through
// a real failover of the lab's HA pair (a fast or an immediate shutdown of the primary), then the checks:
// nothing acknowledged lost, writes back within the connect limit, failed statements FAILOVER with the
// server's 57P01 as cause, one failover event from the old server to the new, nothing of the pool left open.
import assert from 'node:assert/strict'
import { after, before } from 'node:test'
import type pg from 'pg'
import { AzurePgError, type FailoverEvent } from '../../src/index.js'
import { startHaPair, type HaPair } from '../../lab/ha-pair.js'
import type { ShutdownMode } from '../../lab/postgres-server.js'
import { LOGINS } from '../../lab/lab.js'
import { missingWrites, writeThroughFailover, type WorkloadResult } from '../../lab/failover-workload.js'
import { activeCounts, settledReading, waitUntil } from './handles.js'
import { timeLimit } from './within.js'

/** Every wait of a failover test has this limit. */
export const FAILOVER_LIMIT_MS = 30_000
/** The pools' connect time limit: reconnecting through the failover must fit in it. */
export const CONNECT_LIMIT_MS = 10_000
/** The handles a leaked connection would leave. */
export const WATCHED = ['TCPSocketWrap', 'TLSWrap', 'Timeout'] as const

const within = timeLimit(FAILOVER_LIMIT_MS)

/** A started HA pair whose primary has each of `tables` (`id bigint PRIMARY KEY`), writable by every login. */
export async function startPairWithTables(...tables: string[]): Promise<HaPair> {
  const pair = await startHaPair()
  const create = tables.map((t) => `CREATE TABLE ${t} (id bigint PRIMARY KEY);`).join(' ')
  await pair.admin('primary', `${create} GRANT ALL ON ${tables.join(', ')} TO PUBLIC`)
  return pair
}

/**
 * The HA pair of a test file: started with `tables` before its tests (a `before` hook) and stopped after them.
 * Returns what gives the pair to a test.
 */
export function pairForTests(...tables: string[]): () => HaPair {
  let pair: HaPair | undefined
  before(async () => {
    pair = await startPairWithTables(...tables)
  })
  after(async () => {
    await pair?.stop()
  })
  return () => {
    if (pair === undefined) throw new Error('the HA pair did not start')
    return pair
  }
}

/** Options of a pool through the pair's relay, as an application names the Azure server. */
export function poolOptions(pair: HaPair): { host: string; hostaddr: string; port: number; database: string; user: string; password: string; sslrootcert: string; env: Record<string, string>; learn: 'off'; max: number; connectionTimeoutMillis: number } {
  return {
    host: pair.host, hostaddr: '127.0.0.1', port: pair.relay.port, database: 'postgres', user: LOGINS.flexible.user,
    password: LOGINS.flexible.password, sslrootcert: pair.rootPath, env: {}, learn: 'off', max: 10, connectionTimeoutMillis: CONNECT_LIMIT_MS,
  }
}

/** A pool with the SDK's failover event (both SDK pools). */
type FailoverPool = pg.Pool & { on(event: 'failover', listener: (e: FailoverEvent) => void): unknown }

/**
 * Runs the workload through `pair.failover(mode)` with a pool made by `makePool`, checks the evidence, and
 * returns what the workload saw (for a caller's further checks).
 */
export async function checkRideThrough(pair: HaPair, table: string, makePool: () => Promise<FailoverPool>, mode: ShutdownMode = 'fast'): Promise<WorkloadResult> {
  const baseline = await settledReading(() => activeCounts(WATCHED), FAILOVER_LIMIT_MS)
  const pool = await makePool()
  const events: FailoverEvent[] = []
  pool.on('failover', (e) => events.push(e))
  // Idle clients the shutdown ends are reported here (pg-pool's 'error'); they are not statements.
  const idleLosses: unknown[] = []
  pool.on('error', (e) => idleLosses.push(e))
  const result = await within(writeThroughFailover(pool, pair, { writers: 10, table, writesBefore: 300, writesAfter: 300, limitMs: FAILOVER_LIMIT_MS, failover: async (p) => { await p.failover(mode) } }), 'the workload')
  await within(pool.end(), 'pool.end()')

  assert.equal(result.timedOut, false, `writes did not come back within ${FAILOVER_LIMIT_MS} ms: ${result.failures.length} failures`)
  assert.ok(result.recoveryMs !== undefined && result.recoveryMs < CONNECT_LIMIT_MS, `first write after the promotion: ${String(result.recoveryMs)} ms`)
  // Synchronous replication: a write is acknowledged once the standby has it, so however the primary stops
  // (fast, or immediate: no shutdown checkpoint) every acknowledged write is on the promoted standby.
  assert.deepEqual(await within(missingWrites(pair, 'standby', table, result.acked), 'reading the new primary'), [])
  assert.ok(result.failures.length > 0, 'the shutdown ended statements in flight')
  for (const f of result.failures) {
    assert.ok(f instanceof AzurePgError, `a failed statement without a code: ${String(f)}`)
    assert.equal(f.code, 'FAILOVER', f.message)
    assert.equal(f.phase, 'query')
    assert.match(f.message, /retry the transaction/)
    assert.equal((f.cause as { code?: unknown }).code, '57P01', 'the server\'s own error is the cause')
    assert.ok(!f.message.includes(LOGINS.flexible.password))
  }
  assert.equal(events.length, 1, `failover events: ${JSON.stringify(events)}`)
  const [event] = events as [FailoverEvent]
  assert.notEqual(event.from.id, event.to.id)
  // Behind one relay address, the servers differ by their certificates (each has its own).
  assert.equal(`${event.from.address}:${event.from.port}`, `127.0.0.1:${pair.relay.port}`)
  assert.equal(`${event.to.address}:${event.to.port}`, `127.0.0.1:${pair.relay.port}`)
  assert.notEqual(event.from.certificate, event.to.certificate)
  assert.equal(event.signal, 'shutdown')
  assert.equal(event.sqlState, '57P01')
  for (const e of idleLosses) assert.ok(e instanceof AzurePgError, String(e))

  // Nothing of the pool stays open: sockets, TLS sessions, timers (reconnect backoffs included).
  const above = (): string[] => WATCHED.filter((k) => activeCounts(WATCHED)[k] > baseline[k])
  await waitUntil(() => above().length === 0, FAILOVER_LIMIT_MS)
  assert.deepEqual(above(), [], process.getActiveResourcesInfo().join(', '))
  return result
}
