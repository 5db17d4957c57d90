// A failover, side by side: the SDK's pool and a raw pg.Pool (each 10 clients, 10 writers inserting unique
// ids) write through the same relay to the same replicated pair at the same time, while the primary is
// stopped (fast shutdown), the standby promoted and the relay switched, as Azure's HA does behind one host
// name. Per contender: the time from the promotion to its first acknowledged write, and the statements
// that failed; medians over a few runs, each on a fresh pair. `npm run bench` runs it; `npm run
// bench:failover` alone. Figures for reading: the failover itself (about half a second here) is the lab's.
import os from 'node:os'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { AzurePgError, createAzurePgPool } from '../src/index.js'
import { startHaPair, type HaPair } from '../lab/ha-pair.js'
import { LOGINS } from '../lab/lab.js'
import { missingWrites, writeThroughFailoverSideBySide, type WorkloadResult } from '../lab/failover-workload.js'
import { pinCpus } from './cpu-pinning.js'
import { median } from './stats.js'
import { escapeXml } from './svg-timeline.js'

/** The contenders. */
export type FailoverContender = 'pg' | 'sdk'

/** One contender's figures in one run. */
export interface FailoverSample {
  /** Milliseconds from the promotion (the new primary reachable) to the first acknowledged write. */
  readonly recoveryMs: number
  /** Statements that failed from the start of the failover on. */
  readonly failedStatements: number
  /** How those failures were reported: `CODE` (or pg's message for raw pg), with counts. */
  readonly failureKinds: Readonly<Record<string, number>>
  /** Acknowledged writes missing on the new primary (0 expected: synchronous replication). */
  readonly lost: number
}

/** The whole comparison. */
export interface FailoverResults {
  readonly runs: number
  readonly writersPerPool: number
  readonly connectLimitMs: number
  readonly failoverMs: readonly number[]
  readonly samples: Readonly<Record<FailoverContender, readonly FailoverSample[]>>
  readonly median: Readonly<Record<FailoverContender, { recoveryMs: number; failedStatements: number; lost: number }>>
  readonly loadAverage: { before: number; after: number }
  readonly pinning: string
}

const WRITERS = 10
const CONNECT_LIMIT_MS = 10_000

/** How a failure reads, for counting: the SDK's code, or raw pg's SQLSTATE / message. */
function kindOf(err: unknown): string {
  if (err instanceof AzurePgError) return `${err.code}${err.reason === undefined ? '' : `/${err.reason}`}`
  const e = err as { code?: unknown; message?: unknown }
  return typeof e.code === 'string' ? e.code : String(e.message).slice(0, 60)
}

function sampleOf(r: WorkloadResult, lost: number): FailoverSample {
  const failureKinds: Record<string, number> = {}
  for (const f of r.failures) failureKinds[kindOf(f)] = (failureKinds[kindOf(f)] ?? 0) + 1
  return { recoveryMs: Number((r.recoveryMs ?? Number.NaN).toFixed(1)), failedStatements: r.failedDuringFailover, failureKinds, lost }
}

async function oneRun(pinned: (pair: HaPair) => Promise<string>): Promise<{ failoverMs: number; pg: FailoverSample; sdk: FailoverSample; pinning: string }> {
  const pair = await startHaPair()
  try {
    const pinning = await pinned(pair)
    await pair.admin('primary', 'CREATE TABLE bench_writes (id bigint PRIMARY KEY); GRANT ALL ON bench_writes TO PUBLIC')
    const sdk = await createAzurePgPool({
      host: pair.host, hostaddr: '127.0.0.1', port: pair.relay.port, database: 'postgres', user: LOGINS.flexible.user,
      password: LOGINS.flexible.password, sslrootcert: pair.rootPath, env: {}, learn: 'off', max: WRITERS, connectionTimeoutMillis: CONNECT_LIMIT_MS,
    })
    const raw = new pg.Pool({
      host: '127.0.0.1', port: pair.relay.port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
      ssl: { ca: pair.root.pem, servername: pair.host }, max: WRITERS, connectionTimeoutMillis: CONNECT_LIMIT_MS,
    })
    // Idle clients the shutdown ends: both pools report them as 'error' events, which are not statements.
    sdk.on('error', () => undefined)
    raw.on('error', () => undefined)
    try {
      const results = await writeThroughFailoverSideBySide({ pg: raw, sdk }, pair, { writers: WRITERS, table: 'bench_writes', writesBefore: 300, writesAfter: 300, limitMs: 60_000 })
      const lost = async (who: FailoverContender): Promise<number> => (await missingWrites(pair, 'standby', 'bench_writes', results[who].acked)).length
      return { failoverMs: results.sdk.failoverMs, pg: sampleOf(results.pg, await lost('pg')), sdk: sampleOf(results.sdk, await lost('sdk')), pinning }
    } finally {
      await Promise.all([sdk.end(), raw.end()])
    }
  } finally {
    await pair.stop()
  }
}

/** Runs the comparison `runs` times, each on a fresh pair; `pin` pins the pair's servers (see cpu-pinning.ts). */
export async function failoverBench(runs = 3, log: (line: string) => void = () => undefined): Promise<FailoverResults> {
  const before = os.loadavg()[0] ?? Number.NaN
  const samples: Record<FailoverContender, FailoverSample[]> = { pg: [], sdk: [] }
  const failoverMs: number[] = []
  let pinning = ''
  for (let i = 0; i < runs; i++) {
    const run = await oneRun((pair) => pinCpus([pair.primary, pair.standby]))
    pinning = run.pinning
    samples.pg.push(run.pg)
    samples.sdk.push(run.sdk)
    failoverMs.push(Number(run.failoverMs.toFixed(0)))
    log(`  failover run ${i + 1}/${runs}: recovery pg ${run.pg.recoveryMs} ms / SDK ${run.sdk.recoveryMs} ms, failed pg ${run.pg.failedStatements} / SDK ${run.sdk.failedStatements}`)
  }
  const med = (who: FailoverContender): { recoveryMs: number; failedStatements: number; lost: number } => ({
    recoveryMs: Number(median(samples[who].map((s) => s.recoveryMs)).toFixed(1)),
    failedStatements: median(samples[who].map((s) => s.failedStatements)),
    lost: Math.max(...samples[who].map((s) => s.lost)),
  })
  return {
    runs, writersPerPool: WRITERS, connectLimitMs: CONNECT_LIMIT_MS, failoverMs, samples,
    median: { pg: med('pg'), sdk: med('sdk') },
    loadAverage: { before: Number(before.toFixed(1)), after: Number((os.loadavg()[0] ?? Number.NaN).toFixed(1)) },
    pinning,
  }
}

/** The markdown section of the report. */
export function failoverMarkdown(r: FailoverResults): string {
  const kinds = (who: FailoverContender): string => {
    const all: Record<string, number> = {}
    for (const s of r.samples[who]) for (const [k, n] of Object.entries(s.failureKinds)) all[k] = (all[k] ?? 0) + n
    return Object.entries(all).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k.replace(/\|/g, '\\|')} ×${n}`).join(', ')
  }
  const per = (who: FailoverContender, f: (s: FailoverSample) => number): string => r.samples[who].map(f).join(', ')
  return [
    `## Failover (a raw pg.Pool and the SDK pool side by side, ${r.writersPerPool} writers each, ${r.runs} runs)`,
    '',
    `Both pools write through one relay (the Azure host name) to a PostgreSQL 18 primary with a synchronous standby; the primary is stopped (fast shutdown), the standby promoted, the relay switched (the failover took ${r.failoverMs.join(', ')} ms). A failed statement is not retried; its writer pauses 10 ms and writes a new id. Load average ${r.loadAverage.before} before, ${r.loadAverage.after} after; ${r.pinning}.`,
    '',
    '| | raw pg.Pool | SDK pool |',
    '|---|---|---|',
    `| first acknowledged write after the promotion (median) | ${r.median.pg.recoveryMs} ms (runs: ${per('pg', (s) => s.recoveryMs)}) | ${r.median.sdk.recoveryMs} ms (runs: ${per('sdk', (s) => s.recoveryMs)}) |`,
    `| failed statements (median) | ${r.median.pg.failedStatements} (runs: ${per('pg', (s) => s.failedStatements)}) | ${r.median.sdk.failedStatements} (runs: ${per('sdk', (s) => s.failedStatements)}) |`,
    `| acknowledged writes lost (worst run) | ${r.median.pg.lost} | ${r.median.sdk.lost} |`,
    `| how the failures read | ${kinds('pg')} | ${kinds('sdk')} |`,
    '',
    'The SDK pool fails only the statements the shutdown ended (FAILOVER: retry the transaction); checkouts during the failover wait and reconnect with backoff within the connect limit instead of failing. Raw pg fails every statement tried while no server answers.',
    '',
  ].join('\n')
}

/** A small two-panel bar chart of the medians: time to the first write after the promotion, and failed statements. */
export function failoverSvg(r: FailoverResults, subtitle: string): string {
  const width = 760
  const panel = (x: number, title: string, values: Record<FailoverContender, number>, unit: string): string => {
    const max = Math.max(values.pg, values.sdk, 1)
    const bar = (who: FailoverContender, row: number, colour: string, label: string): string => {
      const w = Math.max(1, (values[who] / max) * 200)
      const y = 70 + row * 44
      return `<text x="${x}" y="${y + 19}" font-size="13">${label}</text>` +
        `<rect x="${x + 90}" y="${y}" width="${w.toFixed(1)}" height="28" fill="${colour}"/>` +
        `<text x="${x + 96 + w}" y="${y + 19}" font-size="13">${values[who]}${unit}</text>`
    }
    return `<text x="${x}" y="52" font-size="14" font-weight="bold">${escapeXml(title)}</text>` +
      bar('pg', 0, '#8c8c8c', 'raw pg.Pool') + bar('sdk', 1, '#4e79a7', 'SDK pool')
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="190" viewBox="0 0 ${width} 190" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="22" font-size="15" font-weight="bold">Failover behind one host name: ${r.writersPerPool} writers per pool, medians of ${r.runs} runs</text>`,
    panel(10, 'first write after the promotion', { pg: r.median.pg.recoveryMs, sdk: r.median.sdk.recoveryMs }, ' ms'),
    panel(390, 'failed statements', { pg: r.median.pg.failedStatements, sdk: r.median.sdk.failedStatements }, ''),
    `<text x="10" y="178" font-size="11" fill="#555">${escapeXml(subtitle)}</text>`,
    '</svg>',
    '',
  ].join('\n')
}

// `npm run bench:failover`: this comparison alone; prints the markdown, writes bench/failover-results.json and bench/failover.svg.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { writeFile } = await import('node:fs/promises')
  const runs = Number(process.env['BENCH_FAILOVER_RUNS'] ?? 3)
  process.stderr.write(`bench:failover: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`)
  const results = await failoverBench(runs, (line) => process.stderr.write(`${line}\n`))
  await writeFile(new URL('./failover.svg', import.meta.url), failoverSvg(results, `npm run bench:failover, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, node ${process.version}, load ${results.loadAverage.before} → ${results.loadAverage.after}`))
  await writeFile(new URL('./failover-results.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...results }, null, 2)}\n`)
  process.stdout.write(`${failoverMarkdown(results)}\n`)
}
