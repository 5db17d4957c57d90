// Whole cold processes against raw pg (issue 20): each run is a new Node process that starts, imports its
// contender, opens one verified connection, runs SELECT 1 and exits (bench/cold-child.mjs). The SDK runs
// as a "new container" (an empty cache folder) and on a "warm disk" (the folder an earlier process left,
// with what it learned about the server). Runs are alternated, the order rotating, and compared by the
// ratio of medians; through a delay proxy the same processes are also counted in round trips.
// Run on its own: `node --import tsx --import ./lab/loopback-guard.ts bench/cold-start.ts`.
import { execFile, spawn } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startDelayProxy, type DelayProxy } from '../lab/delay-proxy.js'
import { AZURE_HOST, LOGINS, type Lab, type ServerKind } from '../lab/lab.js'
import { countRoundTrips } from '../lab/round-trips.js'
import { median, summarise, type Summary } from './stats.js'

const repo = fileURLToPath(new URL('../', import.meta.url))
const CHILD = fileURLToPath(new URL('./cold-child.mjs', import.meta.url))

/** Who runs in a cold process: raw pg, the SDK with an empty cache folder, the SDK with the folder a previous process left. */
export type ColdContender = 'pg' | 'sdkNew' | 'sdkWarm'
export const COLD_CONTENDERS: readonly ColdContender[] = ['pg', 'sdkNew', 'sdkWarm']

/** What one child reported: ms since its own start at each step, and its memory after the import. */
interface ChildReport {
  readonly started: number
  readonly imported: number
  readonly created?: number
  readonly answered?: number
  readonly ended?: number
  readonly rssMb: number
  readonly heapUsedMb: number
  /** CPU time (user + system) from the process's start to the end of the import, and to the end of its work. */
  readonly importCpuMs: number
  readonly cpuMs?: number
}

/** One cold process as the parent saw it. */
interface ColdRun {
  /** Spawn to exit, as measured by the parent. */
  readonly wallMs: number
  readonly child: ChildReport
  readonly roundTrips?: number
  readonly directTls?: boolean
  readonly connections?: number
}

/** One contender in one case. */
export interface ColdRow {
  readonly wallMs: Summary
  /** The child's own start to the end of its import (Node's start-up before the script not included). */
  readonly importMs: Summary
  /** Import to the result of SELECT 1, inside the child. */
  readonly connectMs: Summary
  /** From end() resolving in the child to the parent seeing it exit (what keeps a process alive after its work). */
  readonly exitMs: Summary
  /** The child's CPU time from its start to the end of its work: steadier than wall time on a shared machine. */
  readonly cpuMs: Summary
  readonly roundTrips?: number
  /** Runs whose (last) connection went in with direct TLS. */
  readonly directTlsRuns?: number
  /** TCP connections per run, median (2: a refused direct attempt and its fallback). */
  readonly connections?: number
}

/** One server and link: the three contenders, and the SDK's medians over raw pg's. */
export interface ColdCase {
  readonly id: string
  readonly name: string
  readonly rttMs: number
  readonly runs: number
  readonly rows: Readonly<Record<ColdContender, ColdRow>>
  /** Median wall time ÷ raw pg's. */
  readonly ratio: { readonly sdkNew: number; readonly sdkWarm: number }
  /** Median over rounds of the SDK's wall time ÷ raw pg's in the same round (neighbours in time, so slow drifts of the load cancel). */
  readonly pairedRatio: { readonly sdkNew: number; readonly sdkWarm: number }
  /** Median CPU time ÷ raw pg's. */
  readonly cpuRatio: { readonly sdkNew: number; readonly sdkWarm: number }
  /** Median wall time minus raw pg's, in round-trip times (0 on loopback). */
  readonly rttDelta?: { readonly sdkNew: number; readonly sdkWarm: number }
}

export interface ColdStartResults {
  readonly import: {
    readonly runs: number
    readonly wallMs: { readonly pg: Summary; readonly sdk: Summary; readonly none: Summary }
    /** Time inside the child from its start to the end of the import. */
    readonly importMs: { readonly pg: Summary; readonly sdk: Summary }
    /** CPU time from the process's start to the end of the import. */
    readonly cpuMs: { readonly pg: Summary; readonly sdk: Summary; readonly none: Summary }
    readonly rssMb: { readonly pg: number; readonly sdk: number; readonly none: number }
    readonly heapUsedMb: { readonly pg: number; readonly sdk: number; readonly none: number }
  }
  readonly cases: readonly ColdCase[]
}

function runChild(env: Record<string, string>): Promise<{ wallMs: number; child: ChildReport }> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(process.execPath, [CHILD], { cwd: repo, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString() })
    child.stderr.on('data', (c: Buffer) => { err += c.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.once('exit', (code) => {
      const wallMs = performance.now() - start
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`cold child (${env['COLD_WHO'] ?? '?'}) exited with ${String(code)}: ${err.slice(-2000)}`))
        return
      }
      try {
        resolve({ wallMs, child: JSON.parse(out.trim().split('\n').pop() ?? '') as ChildReport })
      } catch {
        reject(new Error(`cold child printed no report: ${out} ${err}`))
      }
    })
  })
}

/** Every order of the three contenders, cycled, so none always runs first or after the same one. */
const ORDERS: ReadonlyArray<readonly ColdContender[]> = [
  ['pg', 'sdkNew', 'sdkWarm'], ['sdkNew', 'sdkWarm', 'pg'], ['sdkWarm', 'pg', 'sdkNew'],
  ['pg', 'sdkWarm', 'sdkNew'], ['sdkNew', 'pg', 'sdkWarm'], ['sdkWarm', 'sdkNew', 'pg'],
]

export interface ColdStartOptions {
  readonly lab: Lab
  /** Azure's roots plus the lab root, PEM: the one trust set of both contenders. */
  readonly ca: readonly string[]
  /** A scratch folder (cache folders, the CA file). */
  readonly workDir: string
  readonly runs: number
  readonly delayMs: number
  readonly log: (line: string) => void
}

/** Builds dist/ first: the children import the package as users get it. */
export async function buildPackage(): Promise<void> {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs'], { cwd: repo, timeout: 120_000 })
}

async function importCost(o: ColdStartOptions): Promise<ColdStartResults['import']> {
  const wall: Record<'pg' | 'sdk' | 'none', number[]> = { pg: [], sdk: [], none: [] }
  const inside: Record<'pg' | 'sdk', number[]> = { pg: [], sdk: [] }
  const rss: Record<'pg' | 'sdk' | 'none', number[]> = { pg: [], sdk: [], none: [] }
  const heap: Record<'pg' | 'sdk' | 'none', number[]> = { pg: [], sdk: [], none: [] }
  const cpu: Record<'pg' | 'sdk' | 'none', number[]> = { pg: [], sdk: [], none: [] }
  const orders = [['pg', 'sdk', 'none'], ['sdk', 'none', 'pg'], ['none', 'pg', 'sdk']] as const
  for (let i = 0; i < o.runs; i++) {
    for (const who of orders[i % orders.length] ?? orders[0]) {
      const { wallMs, child } = await runChild({ COLD_WHO: who, COLD_MODE: 'import' })
      wall[who].push(wallMs)
      rss[who].push(child.rssMb)
      heap[who].push(child.heapUsedMb)
      cpu[who].push(child.importCpuMs)
      if (who !== 'none') inside[who].push(child.imported - child.started)
    }
  }
  const m = (xs: number[]): number => Number(median(xs).toFixed(1))
  return {
    runs: o.runs,
    wallMs: { pg: summarise(wall.pg, 1), sdk: summarise(wall.sdk, 1), none: summarise(wall.none, 1) },
    importMs: { pg: summarise(inside.pg, 1), sdk: summarise(inside.sdk, 1) },
    cpuMs: { pg: summarise(cpu.pg, 1), sdk: summarise(cpu.sdk, 1), none: summarise(cpu.none, 1) },
    rssMb: { pg: m(rss.pg), sdk: m(rss.sdk), none: m(rss.none) },
    heapUsedMb: { pg: m(heap.pg), sdk: m(heap.sdk), none: m(heap.none) },
  }
}

async function coldCase(o: ColdStartOptions, id: string, name: string, kind: ServerKind, delayMs: number, caFile: string): Promise<ColdCase> {
  const upstream = o.lab.server(kind).port
  // One proxy (one host:port) for every contender, so that what a warm disk holds is about this server.
  const proxy: DelayProxy = await startDelayProxy({ upstreamPort: upstream, delayMs })
  let dirs = 0
  const freshDir = async (): Promise<string> => {
    const dir = join(o.workDir, `cold-${id}-${++dirs}`)
    await mkdir(dir, { recursive: true })
    return dir
  }
  const warmDir = await freshDir()
  const envFor = (who: ColdContender, cacheDir: string): Record<string, string> => ({
    COLD_WHO: who === 'pg' ? 'pg' : 'sdk', COLD_PORT: String(proxy.port), COLD_HOST: AZURE_HOST, COLD_CA_FILE: caFile,
    COLD_USER: LOGINS.flexible.user, COLD_PASSWORD: LOGINS.flexible.password, COLD_CACHE_DIR: cacheDir,
  })
  const runOne = async (who: ColdContender): Promise<ColdRun> => {
    proxy.reset()
    const { wallMs, child } = await runChild(envFor(who, who === 'sdkWarm' ? warmDir : await freshDir()))
    if (delayMs === 0) return { wallMs, child }
    // The server's last records reach the proxy a moment after the child has gone.
    await new Promise((resolve) => setTimeout(resolve, 2 * delayMs + 20))
    const timelines = proxy.connections()
    return {
      wallMs, child,
      roundTrips: timelines.reduce((n, t) => n + countRoundTrips(t).roundTrips, 0),
      directTls: timelines[timelines.length - 1]?.directTls ?? false,
      connections: timelines.length,
    }
  }
  try {
    // The warm disk: what one earlier process left in its folder.
    await runOne('sdkWarm')
    const runs: Record<ColdContender, ColdRun[]> = { pg: [], sdkNew: [], sdkWarm: [] }
    for (let i = 0; i < o.runs; i++) {
      for (const who of ORDERS[i % ORDERS.length] ?? COLD_CONTENDERS) runs[who].push(await runOne(who))
    }
    const rowOf = (rs: readonly ColdRun[]): ColdRow => ({
      wallMs: summarise(rs.map((r) => r.wallMs), 1),
      importMs: summarise(rs.map((r) => r.child.imported - r.child.started), 1),
      connectMs: summarise(rs.map((r) => (r.child.answered ?? Number.NaN) - r.child.imported), 1),
      exitMs: summarise(rs.map((r) => r.wallMs - (r.child.ended ?? Number.NaN)), 1),
      cpuMs: summarise(rs.map((r) => r.child.cpuMs ?? Number.NaN), 1),
      ...(delayMs > 0 && {
        roundTrips: median(rs.map((r) => r.roundTrips ?? Number.NaN)),
        directTlsRuns: rs.filter((r) => r.directTls === true).length,
        connections: median(rs.map((r) => r.connections ?? Number.NaN)),
      }),
    })
    const rows = { pg: rowOf(runs.pg), sdkNew: rowOf(runs.sdkNew), sdkWarm: rowOf(runs.sdkWarm) }
    const ratio = (who: 'sdkNew' | 'sdkWarm'): number => Number((rows[who].wallMs.median / rows.pg.wallMs.median).toFixed(3))
    const paired = (who: 'sdkNew' | 'sdkWarm'): number => Number(median(runs[who].map((r, i) => r.wallMs / (runs.pg[i]?.wallMs ?? Number.NaN))).toFixed(3))
    const cpuRatio = (who: 'sdkNew' | 'sdkWarm'): number => Number((rows[who].cpuMs.median / rows.pg.cpuMs.median).toFixed(3))
    const delta = (who: 'sdkNew' | 'sdkWarm'): number => Number(((rows[who].wallMs.median - rows.pg.wallMs.median) / (2 * delayMs)).toFixed(2))
    o.log(`  cold processes: ${name} done`)
    return {
      id, name, rttMs: 2 * delayMs, runs: o.runs, rows,
      ratio: { sdkNew: ratio('sdkNew'), sdkWarm: ratio('sdkWarm') },
      pairedRatio: { sdkNew: paired('sdkNew'), sdkWarm: paired('sdkWarm') },
      cpuRatio: { sdkNew: cpuRatio('sdkNew'), sdkWarm: cpuRatio('sdkWarm') },
      ...(delayMs > 0 && { rttDelta: { sdkNew: delta('sdkNew'), sdkWarm: delta('sdkWarm') } }),
    }
  } finally {
    await proxy.close()
  }
}

/** The cold-process scenario: the import alone, then whole processes on loopback and through the delay proxy. */
export async function coldStart(o: ColdStartOptions): Promise<ColdStartResults> {
  const caFile = join(o.workDir, 'cold-trust-set.pem')
  await writeFile(caFile, o.ca.join('\n'))
  const imports = await importCost(o)
  o.log('  cold processes: import cost done')
  const cases: ColdCase[] = [await coldCase(o, 'loopback', 'PostgreSQL 18, loopback', 'good', 0, caFile)]
  cases.push(await coldCase(o, 'pg18', `PostgreSQL 18 defaults, ${2 * o.delayMs} ms RTT`, 'good', o.delayMs, caFile))
  if (o.lab.servers.pg15 !== undefined) cases.push(await coldCase(o, 'pg15', `PostgreSQL 15 (Debian, defaults), ${2 * o.delayMs} ms RTT`, 'pg15', o.delayMs, caFile))
  return { import: imports, cases }
}

/** Azure's roots as bundled in certs/ (what the bench's trust set starts from). */
export async function azureRootPems(): Promise<string[]> {
  const certsDir = new URL('../certs/', import.meta.url)
  return Promise.all((await readdir(certsDir)).filter((f) => f.endsWith('.pem')).sort().map((f) => readFile(new URL(f, certsDir), 'utf8')))
}
