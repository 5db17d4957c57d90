// A write workload through a failover, shared by the failover tests and the bench: writers insert
// rows with unique ids through a pool while the lab's HA pair fails over (primary stopped, standby
// promoted, relay retargeted), recording which ids were acknowledged, which statements failed, and when
// writes came back. Failed statements are not retried (a writer moves on to a new id after a short
// pause), so every acknowledged id must be on the new primary, and nothing else proves anything.
import type { HaPair, PairMember } from './ha-pair.js'

/** What the workload needs of a pool: pg.Pool's promise `query` (the SDK's, the drop-in's, or raw pg's). */
export interface WritablePool {
  query(text: string, values?: unknown[]): Promise<unknown>
}

export interface WorkloadOptions {
  /** Concurrent writers (the pool's size in the tests). */
  readonly writers: number
  /** The table, `CREATE TABLE <table> (id bigint PRIMARY KEY)` on the primary beforehand. */
  readonly table: string
  /** Acknowledged writes before the failover starts. */
  readonly writesBefore: number
  /** Acknowledged writes after the promotion before the workload stops. */
  readonly writesAfter: number
  /** The whole workload's time limit: it stops then, whatever happened (the result tells). */
  readonly limitMs: number
  /** The failover to run; default `pair.failover('fast')`. Resolves when the new primary takes writes through the relay. */
  readonly failover?: (pair: HaPair) => Promise<void>
  /** Pause of a writer after a failed statement (the same for every pool compared). Default 10 ms. */
  readonly pauseMs?: number
}

export interface WorkloadResult {
  /** Ids whose INSERT was acknowledged. */
  readonly acked: readonly number[]
  /** The errors of the statements that failed, in order. */
  readonly failures: readonly unknown[]
  /** Statements that failed after the failover started (all of them, normally). */
  readonly failedDuringFailover: number
  /** Milliseconds the failover itself took (stop, promote, retarget). */
  readonly failoverMs: number
  /**
   * Milliseconds from the end of the failover (the promoted server reachable) to the first acknowledged
   * write after it; undefined if none came within the limit.
   */
  readonly recoveryMs: number | undefined
  /** True when the workload ran into its time limit before `writesAfter` writes. */
  readonly timedOut: boolean
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs the workload; resolves when `writesAfter` writes were acknowledged after the failover, or at the limit. */
export async function writeThroughFailover(pool: WritablePool, pair: HaPair, options: WorkloadOptions): Promise<WorkloadResult> {
  const pauseMs = options.pauseMs ?? 10
  const deadline = Date.now() + options.limitMs
  const acked: number[] = []
  const failures: unknown[] = []
  let next = 0
  let stop = false
  let failoverStarted: number | undefined
  let promotedAt: number | undefined
  let firstAckAfter: number | undefined
  let ackedAfter = 0
  let failedDuringFailover = 0
  const writer = async (): Promise<void> => {
    while (!stop && Date.now() < deadline) {
      const id = ++next
      try {
        await pool.query(`INSERT INTO ${options.table} (id) VALUES ($1)`, [id])
        acked.push(id)
        if (promotedAt !== undefined) {
          firstAckAfter ??= performance.now()
          ackedAfter++
        }
      } catch (err) {
        failures.push(err)
        if (failoverStarted !== undefined) failedDuringFailover++
        await sleep(pauseMs)
      }
    }
  }
  const waitFor = async (cond: () => boolean): Promise<boolean> => {
    while (!cond()) {
      if (Date.now() >= deadline) return false
      await sleep(10)
    }
    return true
  }
  const writers = Array.from({ length: options.writers }, writer)
  let failoverMs = 0
  let reached = false
  try {
    if (await waitFor(() => acked.length >= options.writesBefore)) {
      failoverStarted = performance.now()
      if (options.failover === undefined) await pair.failover('fast')
      else await options.failover(pair)
      promotedAt = performance.now()
      failoverMs = promotedAt - failoverStarted
      reached = await waitFor(() => ackedAfter >= options.writesAfter)
    }
  } finally {
    stop = true
    await Promise.all(writers)
  }
  return {
    acked, failures, failedDuringFailover, failoverMs,
    recoveryMs: firstAckAfter === undefined || promotedAt === undefined ? undefined : firstAckAfter - promotedAt,
    timedOut: !reached,
  }
}

/** The acknowledged ids that are not in `table` on `member` (the new primary): lost writes. */
export async function missingWrites(pair: HaPair, member: PairMember, table: string, acked: readonly number[]): Promise<number[]> {
  const rows = (await pair.admin(member, `SELECT id FROM ${table}`)).rows as Array<{ id: string | number }>
  const present = new Set(rows.map((r) => Number(r.id)))
  return acked.filter((id) => !present.has(id))
}
