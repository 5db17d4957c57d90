// The cost of observability, side by side: raw pg against the SDK with nobody listening to its telemetry
// ("off"), and raw pg under instrumentation-pg against the SDK under instrumentation-pg and the azure-pg-tls/otel
// adapter ("on"). Each side runs in a child process (see otel-child.ts); ratios are measured within one process,
// beside an A/A control pool, never across processes. `npm run bench` runs it; `npm run bench:otel` alone.
import { execFile } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { Target } from './connections.js'
import { median, quantile } from './stats.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../', import.meta.url))

/** What one side measured in one process. */
export interface OtelSide {
  readonly pool: { pgQps: number; sdkQps: number; controlQps: number; ratio: number; controlRatio: number; rounds: number }
  /** Client CPU per pooled query, µs (medians over the rounds), and the ratios to raw pg's. */
  readonly cpu: { pgUs: number; sdkUs: number; controlUs: number; ratio: number; controlRatio: number }
  /** Per round: the SDK's CPU per query ÷ the mean of both raw pools', and the control's ÷ raw pg's. */
  readonly rounds: { sdkOverRaw: number[]; controlOverPg: number[] }
  readonly latency: { pgMs: number; sdkMs: number; ratio: number; pairs: number }
  readonly spansExported: number
}

/** One side over several processes: the per-round CPU ratios pooled, and each process's own median. */
export interface OtelPooled {
  readonly processes: readonly OtelSide[]
  /** Median over every round of every process: SDK ÷ raw pg, and the A/A control ÷ raw pg. */
  readonly sdkOverRaw: number
  readonly controlOverPg: number
  /** 10th–90th percentile of the per-process medians (how far one process alone may land). */
  readonly sdkSpread: readonly [number, number]
  readonly controlSpread: readonly [number, number]
  readonly rounds: number
}

/** The three sides, and how big the run was. */
export interface OtelResults {
  readonly off: OtelPooled
  readonly on: OtelPooled
  /** As `on`, with the adapter's pool wait-time histogram (`poolWaitTime: true`). */
  readonly onWaitTime: OtelPooled
  readonly plan: { sets: number; rounds: number; queries: number; pairs: number; poolSize: number; processes: number }
}

const r3 = (x: number): number => Number(x.toFixed(3))

/** Pools the per-round ratios of `processes` (pure: the report's figures come from here). */
export function poolSides(processes: readonly OtelSide[]): OtelPooled {
  const all = (f: (s: OtelSide) => number[]): number[] => processes.flatMap(f)
  const perProcess = (f: (s: OtelSide) => number[]): [number, number] => {
    const medians = processes.map((s) => median(f(s)))
    return [r3(quantile(medians, 0.1)), r3(quantile(medians, 0.9))]
  }
  return {
    processes,
    sdkOverRaw: r3(median(all((s) => s.rounds.sdkOverRaw))),
    controlOverPg: r3(median(all((s) => s.rounds.controlOverPg))),
    sdkSpread: perProcess((s) => s.rounds.sdkOverRaw),
    controlSpread: perProcess((s) => s.rounds.controlOverPg),
    rounds: all((s) => s.rounds.sdkOverRaw).length,
  }
}

/** Runs the three sides against `target`, each in `processes` processes, alternated (reduced sizes where `small`). */
export async function otelOverhead(target: Target, small = false): Promise<OtelResults> {
  const plan = small
    ? { sets: 3, rounds: 4, queries: 1000, pairs: 16, poolSize: 10, processes: 1 }
    : { sets: 6, rounds: 8, queries: 1000, pairs: 24, poolSize: 10, processes: 3 } // a multiple of 3: see otel-child.ts
  const side = async (on: boolean, slot: number, waitTime = false): Promise<OtelSide> => {
    const args = ['--expose-gc', '--import', 'tsx', '--import', './lab/loopback-guard.ts', ...(on ? ['--import', './bench/otel-setup.ts'] : []), 'bench/otel-child.ts']
    const env = { ...process.env, BENCH_OTEL: JSON.stringify({ ...plan, target, slot }), BENCH_OTEL_WAIT_TIME: waitTime ? '1' : '0' }
    const { stdout } = await run(process.execPath, args, { cwd: root, env, timeout: 600_000, maxBuffer: 1 << 22 })
    return JSON.parse(stdout) as OtelSide
  }
  const off: OtelSide[] = []
  const on: OtelSide[] = []
  const onWaitTime: OtelSide[] = []
  // Alternated, so that a slow stretch of the machine falls on every side; process i seats the pools in the
  // child's schedule by i (otel-child.ts), so that with 3 processes each pool has each seat once.
  for (let i = 0; i < plan.processes; i++) {
    off.push(await side(false, i))
    on.push(await side(true, i))
    onWaitTime.push(await side(true, i, true))
  }
  return { off: poolSides(off), on: poolSides(on), onWaitTime: poolSides(onWaitTime), plan }
}

/** The markdown section of the report. */
export function otelMarkdown(r: OtelResults): string {
  const mid = (p: OtelPooled, f: (s: OtelSide) => number): number => r3(median(p.processes.map(f)))
  const x = (v: number): string => `${v.toFixed(3)}×`
  const line = (label: string, p: OtelPooled): string =>
    `| ${label} | ${mid(p, (s) => s.pool.pgQps)}/s | ${mid(p, (s) => s.pool.sdkQps)}/s | **${x(mid(p, (s) => s.pool.ratio))}** (control ${x(mid(p, (s) => s.pool.controlRatio))}) | ${mid(p, (s) => s.latency.pgMs)} ms | ${mid(p, (s) => s.latency.sdkMs)} ms | **${x(mid(p, (s) => s.latency.ratio))}** |`
  const cpuLine = (label: string, p: OtelPooled): string =>
    `| ${label} | ${mid(p, (s) => s.cpu.pgUs)} µs | ${mid(p, (s) => s.cpu.sdkUs)} µs | **${x(p.sdkOverRaw)}** (${x(p.sdkSpread[0])}–${x(p.sdkSpread[1])}) | ${x(p.controlOverPg)} (${x(p.controlSpread[0])}–${x(p.controlSpread[1])}) | ${p.rounds} |`
  const sides: ReadonlyArray<readonly [string, OtelPooled]> = [
    ['off: no subscriber', r.off],
    ['on: instrumentation-pg on both, the adapter on the SDK', r.on],
    ['on, and the adapter\'s pool wait-time histogram', r.onWaitTime],
  ]
  // "No measurable difference": the SDK lands within the range the identical control pool's own processes
  // covered (at least ±1%).
  const offBand: readonly [number, number] = [Math.min(0.99, r.off.controlSpread[0], r.off.controlOverPg), Math.max(1.01, r.off.controlSpread[1], r.off.controlOverPg)]
  return [
    '## OpenTelemetry',
    '',
    `Pooled \`SELECT 1\` (pools of ${r.plan.poolSize}, ${r.plan.queries} concurrent per burst, ${r.plan.sets} sets × ${r.plan.rounds} rounds per process) and new connections (median of ${r.plan.pairs} alternating runs); each side in ${r.plan.processes} process${r.plan.processes === 1 ? '' : 'es'} of its own, the sides alternated, each process seating the three pools differently in the same schedule (a pool's seat moved its cost by several percent). Medians over the processes.`,
    '',
    '| side | raw pg | SDK | SDK ÷ pg | new conn. raw pg | new conn. SDK | SDK ÷ pg |',
    '|---|---|---|---|---|---|---|',
    ...sides.map(([label, side]) => line(label, side)),
    '',
    'Client CPU per pooled query (user + system of the process during each burst), what the load moves least. A round is one burst of each pool, back to back; the ratios are taken within each round (the SDK against the mean of the two raw pools, the control against raw pg) and the median is over every round of every process. In brackets: the range of the processes\' own medians (10th–90th percentile), how far one process alone may land.',
    '',
    '| side | raw pg | SDK | SDK ÷ raw pg | control ÷ raw pg (A/A) | rounds |',
    '|---|---|---|---|---|---|',
    ...sides.map(([label, side]) => cpuLine(label, side)),
    '',
    '| issue 23 target | measured (client CPU per query, SDK ÷ raw pg) | met |',
    '|---|---|---|',
    `| no subscriber: no difference beyond the control pool's own | ${x(r.off.sdkOverRaw)} (A/A ${x(r.off.controlOverPg)}, its processes ${x(r.off.controlSpread[0])}–${x(r.off.controlSpread[1])}) | ${r.off.sdkOverRaw >= offBand[0] && r.off.sdkOverRaw <= offBand[1] ? 'yes' : '**not yet**'} |`,
    `| OpenTelemetry on (instrumentation-pg on both, the adapter's defaults): within 3% of raw pg | ${x(r.on.sdkOverRaw)} (A/A ${x(r.on.controlOverPg)}) | ${r.on.sdkOverRaw <= 1.03 ? 'yes' : '**not yet**'} |`,
    '',
    `Spans exported on the "on" side: ${r.on.processes.map((s) => s.spansExported).join(', ')} (per process).`,
    '',
  ].join('\n')
}

// `npm run bench:otel`: this comparison alone, with a lab of its own.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const os = await import('node:os')
  const { readdir, readFile } = await import('node:fs/promises')
  const { startLab } = await import('../lab/lab.js')
  const { makeTempDir, removeTempDir } = await import('../lab/temp-dir.js')
  const { pinCpus } = await import('./cpu-pinning.js')
  const lab = await startLab(['good'])
  const workDir = await makeTempDir('bench-otel')
  try {
    const pinning = await pinCpus(Object.values(lab.servers))
    const certsDir = new URL('../certs/', import.meta.url)
    const azureRoots = await Promise.all((await readdir(certsDir)).filter((f) => f.endsWith('.pem')).sort().map((f) => readFile(new URL(f, certsDir), 'utf8')))
    const target: Target = { port: lab.server('good').port, ca: [...azureRoots, lab.root.pem], cacheDir: workDir }
    const small = process.env['BENCH_SMALL'] === '1'
    process.stderr.write(`bench:otel: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; ${pinning}${small ? '; reduced run' : ''}\n`)
    const results = await otelOverhead(target, small)
    process.stdout.write(`${otelMarkdown(results)}\n${JSON.stringify(results)}\n`)
    process.stderr.write(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
  } finally {
    await lab.stop()
    await removeTempDir(workDir)
  }
}
