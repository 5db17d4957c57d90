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
  const { only } = await writeThroughFailoverSideBySide({ only: pool }, pair, options)
  return only
}

/** One pool's writers and what they saw. */
class Writers {
  readonly acked: number[] = []
  readonly failures: unknown[] = []
  failedDuringFailover = 0
  firstAckAfter: number | undefined
  ackedAfter = 0
}

/**
 * The workload with several pools at once (`options.writers` writers each) through the same failover: the
 * bench's side-by-side run (the SDK's pool and raw pg's on the same pair, relay and moment). Each pool's
 * ids are its own (a table per pool is not needed: ids are drawn from one counter).
 */
export async function writeThroughFailoverSideBySide<K extends string>(pools: Readonly<Record<K, WritablePool>>, pair: HaPair, options: WorkloadOptions): Promise<Record<K, WorkloadResult>> {
  const pauseMs = options.pauseMs ?? 10
  const deadline = Date.now() + options.limitMs
  const names = Object.keys(pools) as K[]
  const seen = new Map<K, Writers>(names.map((name) => [name, new Writers()]))
  const of = (name: K): Writers => seen.get(name) as Writers
  let next = 0
  let stop = false
  let failoverStarted: number | undefined
  let promotedAt: number | undefined
  const writer = async (name: K): Promise<void> => {
    const w = of(name)
    const pool = pools[name]
    while (!stop && Date.now() < deadline) {
      const id = ++next
      try {
        await pool.query(`INSERT INTO ${options.table} (id) VALUES ($1)`, [id])
        w.acked.push(id)
        if (promotedAt !== undefined) {
          w.firstAckAfter ??= performance.now()
          w.ackedAfter++
        }
      } catch (err) {
        w.failures.push(err)
        if (failoverStarted !== undefined) w.failedDuringFailover++
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
  const running = names.flatMap((name) => Array.from({ length: options.writers }, () => writer(name)))
  let failoverMs = 0
  let reached = false
  try {
    if (await waitFor(() => names.every((n) => of(n).acked.length >= options.writesBefore))) {
      failoverStarted = performance.now()
      if (options.failover === undefined) await pair.failover('fast')
      else await options.failover(pair)
      promotedAt = performance.now()
      failoverMs = promotedAt - failoverStarted
      reached = await waitFor(() => names.every((n) => of(n).ackedAfter >= options.writesAfter))
    }
  } finally {
    stop = true
    await Promise.all(running)
  }
  const results = {} as Record<K, WorkloadResult>
  for (const name of names) {
    const w = of(name)
    results[name] = {
      acked: w.acked, failures: w.failures, failedDuringFailover: w.failedDuringFailover, failoverMs,
      recoveryMs: w.firstAckAfter === undefined || promotedAt === undefined ? undefined : w.firstAckAfter - promotedAt,
      timedOut: !reached,
    }
  }
  return results
}

/** The acknowledged ids that are not in `table` on `member` (the new primary): lost writes. */
export async function missingWrites(pair: HaPair, member: PairMember, table: string, acked: readonly number[]): Promise<number[]> {
  const rows = (await pair.admin(member, `SELECT id FROM ${table}`)).rows as Array<{ id: string | number }>
  const present = new Set(rows.map((r) => Number(r.id)))
  return acked.filter((id) => !present.has(id))
}
