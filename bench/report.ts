// The bench's results: their shape (bench/results.json), the targets of issue 10 judged against them,
// and the markdown report (bench/results.md, printed by npm run bench).
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
  readonly id: 'pg18' | 'p256' | 'pre17'
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
    '## Issue 10 targets',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets(r).map((t) => `| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**not yet**'} |`),
    '',
  )
  return lines.join('\n')
}
