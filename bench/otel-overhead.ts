// The cost of observability, side by side: raw pg against the SDK with nobody listening to its telemetry
// ("off"), and raw pg under instrumentation-pg against the SDK under instrumentation-pg and the azure-pg-tls/otel
// adapter ("on"). Each side runs in a child process (see otel-child.ts); ratios are measured within one process,
// beside an A/A control pool, never across processes. `npm run bench` runs it; `npm run bench:otel` alone.
import { execFile } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { Target } from './connections.js'
import { geomean, median, r3 } from './stats.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../', import.meta.url))

/** What one side measured in one process. */
export interface OtelSide {
  readonly pool: { pgQps: number; sdkQps: number; controlQps: number; ratio: number; controlRatio: number; rounds: number }
  /** Client CPU per pooled query, µs (medians over the rounds); the ratios are in `rounds`. */
  readonly cpu: { pgUs: number; sdkUs: number; controlUs: number }
  /** Per seat of the schedule (0, 1, 2): its pool's CPU per query ÷ the round's mean, median over the rounds. */
  readonly seatCost: readonly number[]
  /** Per round: the SDK's CPU per query ÷ the mean of both raw pools', and the control's ÷ raw pg's. */
  readonly rounds: { sdkOverRaw: number[]; controlOverPg: number[] }
  readonly latency: { pgMs: number; sdkMs: number; ratio: number; pairs: number }
  readonly spansExported: number
}

/** One side over several processes. */
export interface OtelPooled {
  readonly processes: readonly OtelSide[]
  /**
   * SDK ÷ raw pg (the mean of both raw pools): the geometric mean of the processes' own medians. Each process
   * seats the SDK differently, and a mean over a full Latin square cancels what a seat costs; a median over
   * the pooled rounds would not.
   */
  readonly sdkOverRaw: number
  /** The A/A control ÷ raw pg, the same way. */
  readonly controlOverPg: number
  /** The lowest and highest process median of each. */
  readonly sdkRange: readonly [number, number]
  readonly controlRange: readonly [number, number]
  /** What each seat of the schedule cost (geometric mean over the processes, where every pool sat in it once). */
  readonly seatCost: readonly number[]
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

/** Pools the processes of one side (pure: the report's figures come from here). */
export function poolSides(processes: readonly OtelSide[]): OtelPooled {
  const medians = (f: (s: OtelSide) => number[]): number[] => processes.map((s) => median(f(s)))
  const sdk = medians((s) => s.rounds.sdkOverRaw)
  const control = medians((s) => s.rounds.controlOverPg)
  return {
    processes,
    sdkOverRaw: r3(geomean(sdk)),
    controlOverPg: r3(geomean(control)),
    sdkRange: [r3(Math.min(...sdk)), r3(Math.max(...sdk))],
    controlRange: [r3(Math.min(...control)), r3(Math.max(...control))],
    seatCost: [0, 1, 2].map((seat) => r3(geomean(processes.map((s) => s.seatCost[seat] ?? Number.NaN)))),
    rounds: processes.reduce((n, s) => n + s.rounds.sdkOverRaw.length, 0),
  }
}

/** Runs the three sides against `target`, each in `processes` processes, alternated (reduced sizes where `small`). */
export async function otelOverhead(target: Target, small = false): Promise<OtelResults> {
  const plan = small
    ? { sets: 3, rounds: 3, queries: 1000, pairs: 12, poolSize: 10, processes: 3 }
    : { sets: 6, rounds: 9, queries: 1000, pairs: 24, poolSize: 10, processes: 3 }
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
  // child's schedule by i (otel-child.ts): each pool has each seat once (processes is a multiple of 3).
  for (let i = 0; i < plan.processes; i++) {
    off.push(await side(false, i % 3))
    on.push(await side(true, i % 3))
    onWaitTime.push(await side(true, i % 3, true))
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
    `| ${label} | ${mid(p, (s) => s.cpu.pgUs)} µs | ${mid(p, (s) => s.cpu.sdkUs)} µs | **${x(p.sdkOverRaw)}** (${x(p.sdkRange[0])}–${x(p.sdkRange[1])}) | ${x(p.controlOverPg)} (${x(p.controlRange[0])}–${x(p.controlRange[1])}) | ${p.seatCost.map(x).join(' / ')} | ${p.rounds} |`
  const sides: ReadonlyArray<readonly [string, OtelPooled]> = [
    ['off: no subscriber', r.off],
    ['on: instrumentation-pg on both, the adapter on the SDK', r.on],
    ['on, and the adapter\'s pool wait-time histogram', r.onWaitTime],
  ]
  // "No measurable difference": within 1%, or within the A/A control's own distance from raw pg.
  const offTolerance = Math.max(0.01, Math.abs(r.off.controlOverPg - 1))
  return [
    '## OpenTelemetry',
    '',
    `Pooled \`SELECT 1\` (pools of ${r.plan.poolSize}, ${r.plan.queries} concurrent per burst, ${r.plan.sets} sets × ${r.plan.rounds} rounds per process) and new connections (median of ${r.plan.pairs} alternating runs); each side in ${r.plan.processes} processes of its own, the sides alternated, each process seating the three pools differently in the same schedule. Medians over the processes.`,
    '',
    '| side | raw pg | SDK | SDK ÷ pg | new conn. raw pg | new conn. SDK | SDK ÷ pg |',
    '|---|---|---|---|---|---|---|',
    ...sides.map(([label, side]) => line(label, side)),
    '',
    'Client CPU per pooled query (user + system of the process during each burst), what the load moves least. A round is one burst of each pool, back to back; ratios are taken within each round: the SDK against the mean of the two raw pools (raw pg and the A/A control), the control against raw pg. Each process gives its median over its rounds; the figure is the geometric mean of the processes\' (in brackets: the lowest and the highest). Seats: what each seat of the schedule cost, whichever pool sat in it (every pool sat in each once).',
    '',
    '| side | raw pg | SDK | SDK ÷ raw pg | control ÷ raw pg (A/A) | seats 0 / 1 / 2 | rounds |',
    '|---|---|---|---|---|---|---|',
    ...sides.map(([label, side]) => cpuLine(label, side)),
    '',
    '| issue 23 target | measured (client CPU per query, SDK ÷ raw pg) | met |',
    '|---|---|---|',
    `| no subscriber: no difference beyond the control pool's own (or 1%) | ${x(r.off.sdkOverRaw)} (A/A ${x(r.off.controlOverPg)}) | ${Math.abs(r.off.sdkOverRaw - 1) <= offTolerance ? 'yes' : '**not yet**'} |`,
    `| OpenTelemetry on (instrumentation-pg on both, the adapter's defaults): within 3% of raw pg | ${x(r.on.sdkOverRaw)} (processes ${x(r.on.sdkRange[0])}–${x(r.on.sdkRange[1])}; A/A ${x(r.on.controlOverPg)}) | ${r.on.sdkOverRaw <= 1.03 ? 'yes' : '**not yet**'} |`,
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
