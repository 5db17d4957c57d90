// One side of the bench's OpenTelemetry comparison, in a process of its own (instrumentation-pg must be set up
// before pg loads): raw pg, the SDK and a second raw pg pool (the A/A control), pooled SELECT 1 in interleaved
// rounds, and new connections in alternating pairs. Prints JSON; bench/otel-overhead.ts compares the sides.
import pg from 'pg'
import { createAzurePgClient, createAzurePgPool } from '../src/index.js'
import { rawConfig, sdkOptions, type Target } from './connections.js'
import { median, r3 } from './stats.js'

/** `slot`: 0, 1 or 2, how this process seats the pools in the schedule (bench/otel-overhead.ts gives each process the next). */
interface Plan { target: Target; sets: number; rounds: number; queries: number; pairs: number; poolSize: number; slot: number }
const plan = JSON.parse(process.env['BENCH_OTEL'] ?? '{}') as Plan
if (![0, 1, 2].includes(plan.slot)) throw new Error('BENCH_OTEL.slot must be 0, 1 or 2')
type Who = 'pg' | 'sdk' | 'control'
// A pool's cost depends on its seat in the schedule of bursts, by several percent and for the life of the
// process: with three identical raw pools, which one came out cheapest followed the schedule (reversing a
// list of all six orders made the most expensive the cheapest; a forward-and-backward cycle made the pool
// always in the middle 7-11% cheaper in 3 processes of 4). The schedule is the three rotations of one
// order, which is the same for every seat up to a relabelling (each seat follows and precedes the others
// alike), and each process seats the pools differently on top (a Latin square over three processes).
const SEAT_ORDERS: ReadonlyArray<readonly number[]> = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
const SEATS: readonly Who[] = [0, 1, 2].map((i) => (['pg', 'sdk', 'control'] as const)[(i + plan.slot) % 3] ?? 'pg')
const orderOf = (i: number): readonly Who[] => (SEAT_ORDERS[i % SEAT_ORDERS.length] ?? [0, 1, 2]).map((seat) => SEATS[seat] ?? 'pg')

/** V8's collector, when the child runs with --expose-gc (bench/otel-overhead.ts starts it so). */
const collect = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc
const qps: Record<Who, number[]> = { pg: [], sdk: [], control: [] }
// Client CPU per query (user + system of this process during the burst, µs): bursts run one at a time, so
// the CPU of a burst is its pool's, spans and metrics included; the load of the machine moves it far less
// than it moves the wall time. Index r of each list is round r: the three bursts of a round run back to
// back, so their ratios cancel the drift of the machine's speed, which moves a process's figures by far
// more than the difference sought.
const cpu: Record<Who, number[]> = { pg: [], sdk: [], control: [] }
for (let set = 0; set < plan.sets; set++) {
  // Made and warmed in a different order in each set.
  const made = orderOf(set)
  const pools = {} as Record<Who, pg.Pool>
  for (const who of made) {
    pools[who] = who === 'sdk' ? await createAzurePgPool({ ...sdkOptions(plan.target), max: plan.poolSize }) : new pg.Pool({ ...rawConfig(plan.target), max: plan.poolSize })
  }
  const burst = (who: Who): Promise<unknown> => Promise.all(Array.from({ length: plan.queries }, () => pools[who].query('SELECT 1')))
  try {
    for (const who of made) await burst(who)
    for (let r = 0; r < plan.rounds; r++) {
      for (const who of orderOf(set * plan.rounds + r)) {
        // The garbage of the burst before is collected before this one starts, and this burst's own young
        // garbage inside its window: a collection would otherwise charge one pool's garbage to the next.
        collect?.()
        const start = performance.now()
        const cpuStart = process.cpuUsage()
        await burst(who)
        collect?.({ type: 'minor' })
        const used = process.cpuUsage(cpuStart)
        qps[who].push(plan.queries / ((performance.now() - start) / 1000))
        cpu[who].push((used.user + used.system) / plan.queries)
      }
    }
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.end()))
  }
}

const ms: Record<'pg' | 'sdk', number[]> = { pg: [], sdk: [] }
for (let i = 0; i < plan.pairs; i++) {
  for (const who of i % 2 === 0 ? ['pg', 'sdk'] as const : ['sdk', 'pg'] as const) {
    const start = performance.now()
    const client = who === 'pg' ? new pg.Client(rawConfig(plan.target)) : await createAzurePgClient(sdkOptions(plan.target))
    await client.connect()
    await client.query('SELECT 1')
    await client.end()
    ms[who].push(performance.now() - start)
  }
}

const spans = (globalThis as { benchSpans?: () => Promise<number> }).benchSpans
const at = (who: Who, r: number): number => cpu[who][r] ?? Number.NaN
process.stdout.write(`${JSON.stringify({
  pool: { pgQps: Math.round(median(qps.pg)), sdkQps: Math.round(median(qps.sdk)), controlQps: Math.round(median(qps.control)), ratio: r3(median(qps.sdk) / median(qps.pg)), controlRatio: r3(median(qps.control) / median(qps.pg)), rounds: qps.pg.length },
  cpu: { pgUs: r3(median(cpu.pg)), sdkUs: r3(median(cpu.sdk)), controlUs: r3(median(cpu.control)) },
  // Per round: the SDK against both raw pools (the same code twice), and the control against raw pg (A/A).
  // Per seat: its pool's CPU ÷ the round's mean (median over the rounds): what the seat itself costs or saves.
  seatCost: SEATS.map((who) => r3(median(cpu[who].map((us, r) => us / ((at('pg', r) + at('sdk', r) + at('control', r)) / 3))))),
  rounds: {
    sdkOverRaw: cpu.sdk.map((us, r) => r3(us / ((at('pg', r) + at('control', r)) / 2))),
    controlOverPg: cpu.control.map((us, r) => r3(us / at('pg', r))),
  },
  latency: { pgMs: r3(median(ms.pg)), sdkMs: r3(median(ms.sdk)), ratio: r3(median(ms.sdk) / median(ms.pg)), pairs: plan.pairs },
  spansExported: spans === undefined ? 0 : await spans(),
})}\n`)
