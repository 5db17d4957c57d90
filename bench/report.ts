// The bench's results: their shape (bench/results.json), the targets of issue 10 judged against them,
// and the markdown report (bench/results.md, printed by npm run bench).
import type { ColdCase, ColdStartResults } from './cold-start.js'
import type { Summary } from './stats.js'

/** Round trips of one contender in one case, medians over its connections. */
export interface RoundTripRow {
  readonly roundTrips: number
  readonly rttEquivalents: number
  /** What the round trips were spent on (of the first connection measured). */
  readonly phases: string
  /** TCP connections relayed in all (more than `n`: refused attempts and retries). */
  readonly connections: number
  readonly directTls: boolean
  readonly n: number
}

export interface RoundTripCase {
  readonly id: 'pg18' | 'p256' | 'pre17' | 'pg15'
  readonly name: string
  readonly pg: RoundTripRow
  readonly sdkFirst: RoundTripRow
  readonly sdkLater: RoundTripRow
  /** For the stand-in: direct TLS attempts it refused during the SDK's connections (and pg's). */
  readonly refusedDirectAttempts?: number
}

export interface Results {
  readonly date: string
  readonly machine: { loadAverage: number; cpus: number; model: string; node: string; postgres: string; /** How the client and the servers were kept apart (see bench/cpu-pinning.ts). */ pinning: string }
  readonly trustSet: string
  readonly latency: {
    pairs: number
    pgMs: Summary
    sdkMs: Summary
    /** SDK median ÷ pg median. */
    ratio: number
    pairRatios: Summary
    contextsPerConnection: { pg: number; sdk: number }
  }
  readonly roundTrips: { rttMs: number; cases: readonly RoundTripCase[] }
  readonly pool: {
    poolSize: number
    queriesPerRound: number
    /** Fresh pools per set; interleaved rounds per set. */
    sets: number
    roundsPerSet: number
    pgQps: Summary
    sdkQps: Summary
    /** A second raw pg pool, measured the same way: its ratio to raw pg is the run's noise floor. */
    controlQps: Summary
    /** Median SDK queries/s ÷ median raw pg queries/s. */
    ratio: number
    /** SDK ÷ pg within each round. */
    roundRatios: Summary
    controlRatio: number
    /** This process's CPU time per query, in microseconds. */
    cpuUsPerQuery: { pg: Summary; sdk: Summary; control: Summary }
    cpuRatio: number
  }
  readonly trust: {
    coldMs: Summary
    coldDownloads: number
    warmMs: Summary
    hotMs: Summary
    blackholed: { firstProcessMs: number; nextProcessMs: number; connectionsToHost: number }
  }
  readonly burst: { calls: number; ms: number; /** Mirror requests between the first call and the last answer (background ones included). */ downloads: number; downloadsIncludingBackground: number; tokenRequests: number; contextsBuilt: number }
  /** Whole cold processes (issue 20); absent from runs before it. */
  readonly cold?: ColdStartResults
  durationSeconds: number
}

export interface Target {
  readonly target: string
  readonly measured: string
  readonly met: boolean
}

const caseOf = (r: Results, id: RoundTripCase['id']): RoundTripCase | undefined => r.roundTrips.cases.find((c) => c.id === id)

/** Issue 10's "done when" figures, judged against one run. */
export function targets(r: Results): Target[] {
  const out: Target[] = [{
    target: 'new-connection latency ≤ 0.95× raw pg (same CA, loopback)',
    measured: `${r.latency.ratio.toFixed(2)}×`,
    met: r.latency.ratio <= 0.95,
  }]
  for (const [id, label] of [['pg18', 'PostgreSQL 18 defaults'], ['p256', 'a P-256-only server']] as const) {
    const c = caseOf(r, id)
    if (c === undefined) continue
    out.push({
      target: `later connections ≥ 1 round trip fewer than raw pg against ${label}`,
      measured: `SDK ${c.sdkLater.roundTrips}, pg ${c.pg.roundTrips}`,
      met: c.pg.roundTrips - c.sdkLater.roundTrips >= 1,
    })
  }
  out.push({ target: 'pooled throughput ≥ 0.97× raw pg', measured: `${r.pool.ratio.toFixed(2)}×`, met: r.pool.ratio >= 0.97 })
  const pre17 = caseOf(r, 'pre17')
  if (pre17 !== undefined) {
    out.push({
      target: 'first connection to a server without direct TLS: no extra round trip',
      measured: `SDK ${pre17.sdkFirst.roundTrips}, pg ${pre17.pg.roundTrips}`,
      met: pre17.sdkFirst.roundTrips <= pre17.pg.roundTrips,
    })
    out.push({
      target: 'a server refusing direct TLS: at most one failed attempt per host:port per process',
      measured: `${pre17.refusedDirectAttempts ?? 0} refused over ${pre17.sdkFirst.n + pre17.sdkLater.n} SDK connections`,
      met: (pre17.refusedDirectAttempts ?? 0) <= 1,
    })
  }
  out.push({
    target: 'a cold start does not wait on a blackholed download host',
    measured: `waited ${(r.trust.blackholed.firstProcessMs / 1000).toFixed(2)} s (next process ${(r.trust.blackholed.nextProcessMs / 1000).toFixed(2)} s)`,
    met: r.trust.blackholed.firstProcessMs < 100 && r.trust.blackholed.nextProcessMs < 100,
  })
  return out
}

const coldCaseOf = (r: Results, id: string): ColdCase | undefined => r.cold?.cases.find((c) => c.id === id)

/** Issue 20's "done when" figures, judged against one run. */
export function coldTargets(r: Results): Target[] {
  const out: Target[] = []
  const loop = coldCaseOf(r, 'loopback')
  if (loop !== undefined) {
    out.push({
      target: `whole cold process on loopback ≤ 1.00× raw pg, new container and warm disk (medians of ${loop.runs} alternated runs)`,
      measured: `new ${loop.ratio.sdkNew.toFixed(2)}×, warm ${loop.ratio.sdkWarm.toFixed(2)}×`,
      met: loop.ratio.sdkNew <= 1 && loop.ratio.sdkWarm <= 1,
    })
  }
  const pg18 = coldCaseOf(r, 'pg18')
  if (pg18?.rttDelta !== undefined) {
    out.push({
      target: `through ${pg18.rttMs} ms RTT, a warm-disk new process ≥ 0.8 RTT faster than raw pg (PostgreSQL 18)`,
      measured: `${(-pg18.rttDelta.sdkWarm).toFixed(2)} RTT faster (new container: ${(-pg18.rttDelta.sdkNew).toFixed(2)})`,
      met: pg18.rttDelta.sdkWarm <= -0.8,
    })
  }
  const pg15 = coldCaseOf(r, 'pg15')
  if (pg15?.rttDelta !== undefined) {
    out.push({
      target: `through ${pg15.rttMs} ms RTT, a new process's first connection to PostgreSQL 15 ≤ raw pg + 0.5 RTT (whole process)`,
      measured: `new container ${pg15.rttDelta.sdkNew >= 0 ? '+' : ''}${pg15.rttDelta.sdkNew.toFixed(2)} RTT, warm disk ${pg15.rttDelta.sdkWarm >= 0 ? '+' : ''}${pg15.rttDelta.sdkWarm.toFixed(2)} RTT`,
      met: pg15.rttDelta.sdkNew <= 0.5 && pg15.rttDelta.sdkWarm <= 0.5,
    })
  }
  const first15 = caseOf(r, 'pg15')
  if (first15 !== undefined) {
    const d = first15.sdkFirst.rttEquivalents - first15.pg.rttEquivalents
    out.push({
      target: 'first connection (in a running process) to PostgreSQL 15 ≤ raw pg + 0.5 RTT',
      measured: `${d >= 0 ? '+' : ''}${d.toFixed(2)} RTT (SDK ${first15.sdkFirst.roundTrips} round trips, pg ${first15.pg.roundTrips})`,
      met: d <= 0.5,
    })
  }
  for (const [id, label] of [['pg15', 'PostgreSQL 15'], ['p256', 'a P-256-only PostgreSQL 18'], ['pg18', 'PostgreSQL 18 defaults']] as const) {
    const c = caseOf(r, id)
    if (c === undefined) continue
    const saved = c.pg.rttEquivalents - c.sdkLater.rttEquivalents
    out.push({ target: `later connections save ≥ 0.8 RTT against ${label}`, measured: `${saved.toFixed(2)} RTT (SDK ${c.sdkLater.roundTrips} round trips, pg ${c.pg.roundTrips})`, met: saved >= 0.8 })
  }
  return out
}

const ms = (s: Summary): string => `${s.median.toFixed(2)} ms (p10 ${s.p10.toFixed(2)}, p90 ${s.p90.toFixed(2)})`

/** The run as markdown: one table per measure, then the targets. */
export function markdownReport(r: Results): string {
  const lines: string[] = [
    `# azure-pg-tls bench, ${r.date.slice(0, 10)}`,
    '',
    `${r.machine.cpus} × ${r.machine.model}, node ${r.machine.node}, PostgreSQL ${r.machine.postgres}, load average ${r.machine.loadAverage} at the end (the machine is shared); ${r.machine.pinning}. Trust set: ${r.trustSet}. Whole run ${r.durationSeconds} s.`,
    '',
    `## New connection on loopback (connect + SELECT 1 + end), ${r.latency.pairs} interleaved pairs`,
    '',
    '| | raw pg | SDK | SDK ÷ pg |',
    '|---|---|---|---|',
    `| time | ${ms(r.latency.pgMs)} | ${ms(r.latency.sdkMs)} | **${r.latency.ratio.toFixed(2)}×** (per pair: median ${r.latency.pairRatios.median.toFixed(2)}, p10 ${r.latency.pairRatios.p10.toFixed(2)}, p90 ${r.latency.pairRatios.p90.toFixed(2)}) |`,
    `| TLS contexts built per connection | ${r.latency.contextsPerConnection.pg.toFixed(2)} | ${r.latency.contextsPerConnection.sdk.toFixed(2)} | |`,
    '',
    `## Round trips per new connection through a ${r.roundTrips.rttMs} ms round-trip proxy`,
    '',
    'Counted from the proxy\'s timeline up to the result of SELECT 1; TCP\'s own handshake is not included. "RTT-eq." is the time to the result ÷ the round-trip time (client CPU included).',
    '',
    '| server | raw pg | SDK, first connection | SDK, later connections | what the SDK\'s later connections spend them on |',
    '|---|---|---|---|---|',
  ]
  for (const c of r.roundTrips.cases) {
    const cell = (x: RoundTripRow): string => `${x.roundTrips} (${x.rttEquivalents.toFixed(1)} RTT-eq.)${x.directTls ? ', direct TLS' : ''}`
    lines.push(`| ${c.name} | ${cell(c.pg)} | ${cell(c.sdkFirst)} | ${cell(c.sdkLater)} | ${c.sdkLater.phases} |`)
  }
  const pre17 = caseOf(r, 'pre17')
  if (pre17 !== undefined) lines.push('', `The stand-in refused ${pre17.refusedDirectAttempts ?? 0} direct TLS attempts in its case.`)
  lines.push(
    '',
    `## Pooled queries (pools of ${r.pool.poolSize}, ${r.pool.queriesPerRound} concurrent SELECT 1 per round; ${r.pool.sets} sets of fresh pools × ${r.pool.roundsPerSet} interleaved rounds)`,
    '',
    'A second raw pg pool runs in every round beside the two contenders: its ratio to raw pg is what noise alone does to a ratio in this run.',
    '',
    '| | raw pg.Pool | SDK pool | SDK ÷ pg | control (raw pg.Pool again) ÷ pg |',
    '|---|---|---|---|---|',
    `| queries/s (median) | ${r.pool.pgQps.median} | ${r.pool.sdkQps.median} | **${r.pool.ratio.toFixed(2)}×** (per round: p10 ${r.pool.roundRatios.p10.toFixed(2)}, p90 ${r.pool.roundRatios.p90.toFixed(2)}) | ${r.pool.controlRatio.toFixed(2)}× |`,
    `| client CPU per query | ${r.pool.cpuUsPerQuery.pg.median.toFixed(1)} µs | ${r.pool.cpuUsPerQuery.sdk.median.toFixed(1)} µs | ${r.pool.cpuRatio.toFixed(2)}× | ${(r.pool.cpuUsPerQuery.control.median / r.pool.cpuUsPerQuery.pg.median).toFixed(2)}× |`,
    '',
    '## Trust resolution (createAzurePgClient with Azure\'s default roots, no connection)',
    '',
    '| case | factory time |',
    '|---|---|',
    `| hot (roots in memory) | ${ms(r.trust.hotMs)} |`,
    `| warm (from the disk cache, memo cleared) | ${ms(r.trust.warmMs)} |`,
    `| cold (empty cache, download from a local mirror; ${r.trust.coldDownloads} requests) | ${ms(r.trust.coldMs)} |`,
    `| cold, download host blackholed (accepts TCP, never answers) | ${r.trust.blackholed.firstProcessMs.toFixed(0)} ms; the next process: ${r.trust.blackholed.nextProcessMs.toFixed(0)} ms (${r.trust.blackholed.connectionsToHost} connections to the host) |`,
    '',
    `## A burst of ${r.burst.calls} createAzurePgClient calls (Entra, empty cache)`,
    '',
    'The calls are answered from the bundled copies; the cache is filled by one background refresh, which may run while the calls still do.',
    '',
    '| wall time | downloads while the calls ran | downloads in all, background refresh included | token requests | TLS contexts built |',
    '|---|---|---|---|---|',
    `| ${r.burst.ms.toFixed(0)} ms | ${r.burst.downloads} | ${r.burst.downloadsIncludingBackground} | ${r.burst.tokenRequests} | ${r.burst.contextsBuilt} |`,
    '',
    ...coldSection(r),
    '## Issue 10 targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets(r).map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**not yet**'} |`),
    '',
  )
  if (r.cold !== undefined) {
    lines.push('## Issue 20 targets', '', '| target | measured | met |', '|---|---|---|',
      ...coldTargets(r).map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**not yet**'} |`), '')
  }
  return lines.join('\n')
}

/** The cold-process tables: the import alone, then whole processes per case. */
function coldSection(r: Results): string[] {
  const c = r.cold
  if (c === undefined) return []
  const i = c.import
  const lines = [
    `## Cold processes (a new Node process: import, one verified connection, SELECT 1, exit; ${i.runs} alternated runs per contender, medians)`,
    '',
    '"New container": the SDK with an empty cache folder; "warm disk": with the folder an earlier process left (its learned facts). The SDK is imported from dist/ as users get it; both contenders get the same trust set.',
    '',
    '| import alone | raw pg | SDK | node with no import |',
    '|---|---|---|---|',
    `| process wall time | ${i.wallMs.pg.median.toFixed(0)} ms | ${i.wallMs.sdk.median.toFixed(0)} ms (${(i.wallMs.sdk.median / i.wallMs.pg.median).toFixed(2)}×) | ${i.wallMs.none.median.toFixed(0)} ms |`,
    `| the import itself | ${i.importMs.pg.median.toFixed(1)} ms | ${i.importMs.sdk.median.toFixed(1)} ms (+${(i.importMs.sdk.median - i.importMs.pg.median).toFixed(1)} ms) | |`,
    ...(i.cpuMs === undefined ? [] : [`| CPU time, process start to the end of the import | ${i.cpuMs.pg.median.toFixed(0)} ms | ${i.cpuMs.sdk.median.toFixed(0)} ms (${(i.cpuMs.sdk.median / i.cpuMs.pg.median).toFixed(2)}×) | ${i.cpuMs.none.median.toFixed(0)} ms |`]),
    `| RSS after the import | ${i.rssMb.pg} MB | ${i.rssMb.sdk} MB | ${i.rssMb.none} MB |`,
    `| heap used after the import | ${i.heapUsedMb.pg} MB | ${i.heapUsedMb.sdk} MB | ${i.heapUsedMb.none} MB |`,
    '',
    'Wall time is spawn to exit as the parent sees it. "÷ pg" is the ratio of the medians; in brackets, the median of the ratios within each round (the three contenders run back to back, so a slow drift of the load cancels), the CPU time ratio (the child\'s own user + system time, which the load moves far less), and through the proxy the difference in round-trip times.',
    '',
    '| case | raw pg | SDK, new container | SDK, warm disk | new ÷ pg | warm ÷ pg |',
    '|---|---|---|---|---|---|',
  ]
  for (const k of c.cases) {
    const cell = (who: 'pg' | 'sdkNew' | 'sdkWarm'): string => {
      const row = k.rows[who]
      const rt = row.roundTrips === undefined ? '' : `; ${row.roundTrips} round trips${(row.directTlsRuns ?? 0) > 0 ? `, direct TLS ${row.directTlsRuns}/${row.wallMs.n}` : ''}`
      return `${row.wallMs.median.toFixed(0)} ms (p10 ${row.wallMs.p10.toFixed(0)}, p90 ${row.wallMs.p90.toFixed(0)}); CPU ${row.cpuMs.median.toFixed(0)} ms${rt}`
    }
    const detail = (who: 'sdkNew' | 'sdkWarm'): string => {
      const d = k.rttDelta?.[who]
      return ` (per round ${k.pairedRatio[who].toFixed(2)}×; CPU ${k.cpuRatio[who].toFixed(2)}×${d === undefined ? '' : `; ${d >= 0 ? '+' : ''}${d.toFixed(2)} RTT`})`
    }
    lines.push(`| ${k.name} | ${cell('pg')} | ${cell('sdkNew')} | ${cell('sdkWarm')} | **${k.ratio.sdkNew.toFixed(2)}×**${detail('sdkNew')} | **${k.ratio.sdkWarm.toFixed(2)}×**${detail('sdkWarm')} |`)
  }
  lines.push('')
  return lines
}
