// The cost of observability, side by side: raw pg against the SDK with nobody listening to its telemetry
// ("off"), and raw pg under instrumentation-pg against the SDK under instrumentation-pg and the azure-pg-tls/otel
// adapter ("on"). Each side runs in a child process (see otel-child.ts); ratios are measured within one process,
// beside an A/A control pool, never across processes. `npm run bench` runs it; `npm run bench:otel` alone.
import { execFile } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import type { Target } from './connections.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../', import.meta.url))

/** What one side measured. */
export interface OtelSide {
  readonly pool: { pgQps: number; sdkQps: number; controlQps: number; ratio: number; controlRatio: number; rounds: number }
  /** Client CPU per pooled query, µs (medians over the rounds), and the ratios to raw pg's. */
  readonly cpu: { pgUs: number; sdkUs: number; controlUs: number; ratio: number; controlRatio: number }
  readonly latency: { pgMs: number; sdkMs: number; ratio: number; pairs: number }
  readonly spansExported: number
}

/** The three sides, and how big the run was. */
export interface OtelResults {
  readonly off: OtelSide
  readonly on: OtelSide
  /** As `on`, with the adapter's pool wait-time histogram (`poolWaitTime: true`). */
  readonly onWaitTime: OtelSide
  readonly plan: { sets: number; rounds: number; queries: number; pairs: number; poolSize: number }
}

/** Runs both sides against `target` (reduced sizes where `small`: a shared machine's quick look). */
export async function otelOverhead(target: Target, small = false): Promise<OtelResults> {
  const plan = small ? { sets: 3, rounds: 4, queries: 1000, pairs: 16, poolSize: 10 } : { sets: 6, rounds: 6, queries: 2000, pairs: 40, poolSize: 10 }
  const side = async (on: boolean, waitTime = false): Promise<OtelSide> => {
    const args = ['--expose-gc', '--import', 'tsx', '--import', './lab/loopback-guard.ts', ...(on ? ['--import', './bench/otel-setup.ts'] : []), 'bench/otel-child.ts']
    const env = { ...process.env, BENCH_OTEL: JSON.stringify({ ...plan, target }), BENCH_OTEL_WAIT_TIME: waitTime ? '1' : '0' }
    const { stdout } = await run(process.execPath, args, { cwd: root, env, timeout: 600_000, maxBuffer: 1 << 20 })
    return JSON.parse(stdout) as OtelSide
  }
  const off = await side(false)
  const on = await side(true)
  const onWaitTime = await side(true, true)
  return { off, on, onWaitTime, plan }
}

/** The markdown section of the report. */
export function otelMarkdown(r: OtelResults): string {
  const line = (label: string, s: OtelSide): string =>
    `| ${label} | ${s.pool.pgQps}/s | ${s.pool.sdkQps}/s | **${s.pool.ratio.toFixed(3)}×** (control ${s.pool.controlRatio.toFixed(3)}×; SDK ÷ control ${(s.pool.sdkQps / s.pool.controlQps).toFixed(3)}×) | ${s.latency.pgMs} ms | ${s.latency.sdkMs} ms | **${s.latency.ratio.toFixed(3)}×** |`
  const cpuLine = (label: string, s: OtelSide): string =>
    `| ${label} | ${s.cpu.pgUs} µs | ${s.cpu.sdkUs} µs | **${s.cpu.ratio.toFixed(3)}×** | ${s.cpu.controlRatio.toFixed(3)}× |`
  const sides: ReadonlyArray<readonly [string, OtelSide]> = [
    ['off: no subscriber', r.off],
    ['on: instrumentation-pg on both, the adapter on the SDK', r.on],
    ['on, and the adapter\'s pool wait-time histogram', r.onWaitTime],
  ]
  return [
    '## OpenTelemetry',
    '',
    `Pooled \`SELECT 1\` (pools of ${r.plan.poolSize}, ${r.plan.queries} concurrent per round, ${r.plan.sets} sets × ${r.plan.rounds} rounds) and new connections (median of ${r.plan.pairs} alternating runs), each side in its own process.`,
    '',
    '| side | raw pg | SDK | SDK ÷ pg | new conn. raw pg | new conn. SDK | SDK ÷ pg |',
    '|---|---|---|---|---|---|---|',
    ...sides.map(([label, side]) => line(label, side)),
    '',
    'Client CPU per pooled query (user + system of the process during each burst; medians over the rounds): what the load moves least.',
    '',
    '| side | raw pg | SDK | SDK ÷ pg | control ÷ pg |',
    '|---|---|---|---|---|',
    ...sides.map(([label, side]) => cpuLine(label, side)),
    '',
    '| issue 23 target | measured (client CPU per query, SDK ÷ raw pg) | met |',
    '|---|---|---|',
    `| no subscriber: no difference beyond the control pool's own | ${r.off.cpu.ratio.toFixed(3)}× (control ${r.off.cpu.controlRatio.toFixed(3)}×) | ${Math.abs(r.off.cpu.ratio - 1) <= Math.max(0.01, Math.abs(r.off.cpu.controlRatio - 1)) ? 'yes' : '**not yet**'} |`,
    `| OpenTelemetry on (instrumentation-pg on both, the adapter's defaults): within 3% of raw pg | ${r.on.cpu.ratio.toFixed(3)}× | ${r.on.cpu.ratio <= 1.03 ? 'yes' : '**not yet**'} |`,
    '',
    `Spans exported on the "on" side: ${r.on.spansExported}.`,
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
