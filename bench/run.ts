// npm run bench: the SDK against plain node-postgres, side by side in one run, on the same PostgreSQL 18
// servers with the same trust set (Azure's three roots from certs/ plus the lab root). Writes
// bench/results.json, bench/results.md (also printed), bench/timeline.svg and bench/failover.svg.
// Figures are for reading, not asserting: timing belongs here, never in tests.
import { existsSync } from 'node:fs'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { createAzurePgClient, createAzurePgPool, type AzurePgOptions } from '../src/index.js'
import { clearRootMemo, settleBackgroundWork } from '../src/trust/store.js'
import { startMirror, type Mirror } from '../lab/cert-mirror.js'
import { startCountingListener } from '../lab/counting-listener.js'
import { startDelayProxy } from '../lab/delay-proxy.js'
import { AZURE_HOST, startLab, type Lab, type ServerKind } from '../lab/lab.js'
import { DEBIAN_POSTGRES_15 } from '../lab/postgres-server.js'
import { startNoDirectTlsServer } from '../lab/no-direct-tls-server.js'
import { describeRoundTrips, countRoundTrips } from '../lab/round-trips.js'
import { makeTempDir, removeTempDir } from '../lab/temp-dir.js'
import { credentialFor } from '../lab/fake-credential.js'
import { newConnection, proxiedConnection, rawConfig, sdkOptions, type Contender, type ProxiedRun, type Target } from './connections.js'
import { countSecureContexts } from '../lab/context-counter.js'
import { pinCpus } from './cpu-pinning.js'
import { buildPackage, coldStart } from './cold-start.js'
import { markdownReport, type Results, type RoundTripCase, type RoundTripRow } from './report.js'
import { median, since, summarise } from './stats.js'
import { timelineSvg } from './svg-timeline.js'
import { otelMarkdown, otelOverhead } from './otel-overhead.js'
import { failoverBench, failoverMarkdown, failoverSvg } from './failover.js'

const PAIRS = 40
const WARM_UP = 5
const DELAY_MS = 10 // one way: 20 ms round trips
const LATER = 5
const POOL_SIZE = 10
const POOL_SETS = 10
const POOL_ROUNDS = 6
const POOL_QUERIES = 2000
const BURST = 1000
/** Whole cold processes per contender and case (issue 20 asks for at least 15). */
const COLD_RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 15)
const silent = { warn: (): void => undefined }

const benchStart = performance.now()
const contexts = countSecureContexts()
const workDir = await makeTempDir('bench')
const certsDir = new URL('../certs/', import.meta.url)
const azureRoots = await Promise.all((await readdir(certsDir)).filter((f) => f.endsWith('.pem')).sort().map((f) => readFile(new URL(f, certsDir), 'utf8')))
let dirs = 0
const freshDir = (): string => join(workDir, `cache-${++dirs}`)

const log = (line: string): void => { process.stderr.write(`${line}\n`) }

async function latency(target: Target): Promise<Results['latency']> {
  for (let i = 0; i < WARM_UP; i++) {
    await newConnection('pg', target)
    await newConnection('sdk', target)
  }
  const ms: Record<Contender, number[]> = { pg: [], sdk: [] }
  const built: Record<Contender, number> = { pg: 0, sdk: 0 }
  const ratios: number[] = []
  for (let i = 0; i < PAIRS; i++) {
    // Alternate who goes first, so neither always inherits the other's warm caches.
    const order: Contender[] = i % 2 === 0 ? ['pg', 'sdk'] : ['sdk', 'pg']
    const pair: Partial<Record<Contender, number>> = {}
    for (const who of order) {
      const before = contexts()
      const run = await newConnection(who, target)
      built[who] += contexts() - before
      pair[who] = run.ended - run.start
      ms[who].push(run.ended - run.start)
    }
    ratios.push((pair.sdk ?? Number.NaN) / (pair.pg ?? Number.NaN))
  }
  return {
    pairs: PAIRS,
    pgMs: summarise(ms.pg),
    sdkMs: summarise(ms.sdk),
    ratio: Number((median(ms.sdk) / median(ms.pg)).toFixed(3)),
    pairRatios: summarise(ratios),
    contextsPerConnection: { pg: built.pg / PAIRS, sdk: built.sdk / PAIRS },
  }
}

function row(runs: readonly ProxiedRun[]): RoundTripRow {
  const first = runs[0]
  return {
    roundTrips: median(runs.map((r) => r.roundTrips)),
    rttEquivalents: Number(median(runs.map((r) => r.rttEquivalents)).toFixed(2)),
    phases: first === undefined ? '' : first.timelines.map((t) => describeRoundTrips(countRoundTrips(t))).join(' | then | '),
    connections: runs.reduce((n, r) => n + r.connections, 0),
    directTls: runs.some((r) => r.directTls),
    n: runs.length,
  }
}

interface Chart { pg?: ProxiedRun; sdkFirst?: ProxiedRun; sdkLater?: ProxiedRun }

async function roundTrips(lab: Lab, target: Target, chart: Chart): Promise<RoundTripCase[]> {
  const standIn = await startNoDirectTlsServer({ upstreamPort: lab.server('good').port })
  const cases: ReadonlyArray<{ id: RoundTripCase['id']; name: string; upstream: number }> = [
    { id: 'pg18', name: 'PostgreSQL 18, default settings', upstream: lab.server('good').port },
    { id: 'p256', name: "P-256 only (ssl_groups = 'prime256v1')", upstream: lab.server('p256Only').port },
    { id: 'pre17', name: 'no direct TLS (pre-17 stand-in in front of 18)', upstream: standIn.port },
    ...(lab.servers.pg15 === undefined ? [] : [{ id: 'pg15' as const, name: 'PostgreSQL 15 (Debian, defaults: no direct TLS, P-256 only)', upstream: lab.servers.pg15.port }]),
  ]
  const out: RoundTripCase[] = []
  try {
    for (const c of cases) {
      // A proxy (so a host:port) per contender: the SDK's first connection to it is a real first.
      const pgProxy = await startDelayProxy({ upstreamPort: c.upstream, delayMs: DELAY_MS })
      const sdkProxy = await startDelayProxy({ upstreamPort: c.upstream, delayMs: DELAY_MS })
      const before = standIn.directAttempts()
      try {
        const pgRuns: ProxiedRun[] = []
        for (let i = 0; i < LATER; i++) pgRuns.push(await proxiedConnection('pg', { ...target, port: pgProxy.port }, pgProxy))
        const sdkTarget: Target = { ...target, port: sdkProxy.port }
        const first = await proxiedConnection('sdk', sdkTarget, sdkProxy)
        const later: ProxiedRun[] = []
        for (let i = 0; i < LATER; i++) later.push(await proxiedConnection('sdk', sdkTarget, sdkProxy))
        out.push({
          id: c.id, name: c.name, pg: row(pgRuns), sdkFirst: row([first]), sdkLater: row(later),
          ...(c.id === 'pre17' && { refusedDirectAttempts: standIn.directAttempts() - before }),
        })
        if (c.id === 'pg18') {
          chart.pg = [...pgRuns].sort((a, b) => a.rttEquivalents - b.rttEquivalents)[Math.floor(pgRuns.length / 2)]
          chart.sdkFirst = first
          chart.sdkLater = [...later].sort((a, b) => a.rttEquivalents - b.rttEquivalents)[Math.floor(later.length / 2)]
        }
      } finally {
        await pgProxy.close()
        await sdkProxy.close()
      }
      log(`  round trips: ${c.name} done`)
    }
  } finally {
    await standIn.close()
  }
  return out
}

/** The pool contenders: raw pg, the SDK, and a second raw pg pool as the A/A control (its ratio to raw pg is the noise floor). */
type PoolContender = Contender | 'control'
const POOL_CONTENDERS: readonly PoolContender[] = ['pg', 'sdk', 'control']
/** Every order of the three, cycled, so that none always runs first or after the same one. */
const POOL_ORDERS: ReadonlyArray<readonly PoolContender[]> = [
  ['pg', 'sdk', 'control'], ['sdk', 'control', 'pg'], ['control', 'pg', 'sdk'],
  ['pg', 'control', 'sdk'], ['sdk', 'pg', 'control'], ['control', 'sdk', 'pg'],
]

async function pooled(target: Target): Promise<Results['pool']> {
  const qps: Record<PoolContender, number[]> = { pg: [], sdk: [], control: [] }
  const cpu: Record<PoolContender, number[]> = { pg: [], sdk: [], control: [] }
  const roundRatios: number[] = []
  // Fresh pools for each set: a pool's connections keep whatever CPU placement their server processes got,
  // which on a shared 2-core machine moves one pool's throughput by several percent for its whole life.
  for (let set = 0; set < POOL_SETS; set++) {
    const pools: Record<PoolContender, pg.Pool> = {
      pg: new pg.Pool({ ...rawConfig(target), max: POOL_SIZE }),
      sdk: await createAzurePgPool({ ...sdkOptions(target), max: POOL_SIZE }),
      control: new pg.Pool({ ...rawConfig(target), max: POOL_SIZE }),
    }
    try {
      for (const who of POOL_CONTENDERS) await Promise.all(Array.from({ length: POOL_QUERIES }, () => pools[who].query('SELECT 1')))
      for (let r = 0; r < POOL_ROUNDS; r++) {
        const round: Partial<Record<PoolContender, number>> = {}
        for (const who of POOL_ORDERS[(set * POOL_ROUNDS + r) % POOL_ORDERS.length] ?? POOL_CONTENDERS) {
          const cpuBefore = process.cpuUsage()
          const start = performance.now()
          await Promise.all(Array.from({ length: POOL_QUERIES }, () => pools[who].query('SELECT 1')))
          const rate = POOL_QUERIES / (since(start) / 1000)
          const used = process.cpuUsage(cpuBefore)
          qps[who].push(rate)
          cpu[who].push((used.user + used.system) / POOL_QUERIES)
          round[who] = rate
        }
        roundRatios.push((round.sdk ?? Number.NaN) / (round.pg ?? Number.NaN))
      }
    } finally {
      await Promise.all(POOL_CONTENDERS.map((who) => pools[who].end()))
    }
  }
  const ratioOf = (who: PoolContender): number => Number((median(qps[who]) / median(qps.pg)).toFixed(3))
  return {
    poolSize: POOL_SIZE, queriesPerRound: POOL_QUERIES, sets: POOL_SETS, roundsPerSet: POOL_ROUNDS,
    pgQps: summarise(qps.pg, 0), sdkQps: summarise(qps.sdk, 0), controlQps: summarise(qps.control, 0),
    ratio: ratioOf('sdk'),
    roundRatios: summarise(roundRatios),
    controlRatio: ratioOf('control'),
    cpuUsPerQuery: { pg: summarise(cpu.pg, 2), sdk: summarise(cpu.sdk, 2), control: summarise(cpu.control, 2) },
    cpuRatio: Number((median(cpu.sdk) / median(cpu.pg)).toFixed(3)),
  }
}

/** The factory with Azure's default roots (no ssl.ca): what trust resolution costs it. */
const trustOptions = (mirror: string, cacheDir: string): AzurePgOptions => ({
  host: AZURE_HOST, user: 'myadmin', env: {}, logger: silent, certs: { mirror, cacheDir },
})

async function timeFactory(options: AzurePgOptions): Promise<number> {
  const start = performance.now()
  await createAzurePgClient(options)
  return since(start)
}

async function trust(mirror: Mirror): Promise<Results['trust']> {
  const cold: number[] = []
  const coldHits: number[] = []
  let warmDir = ''
  for (let i = 0; i < 8; i++) {
    clearRootMemo()
    warmDir = freshDir()
    const hits = mirror.total()
    cold.push(await timeFactory(trustOptions(mirror.url, warmDir)))
    coldHits.push(mirror.total() - hits)
  }
  const warm: number[] = []
  for (let i = 0; i < 20; i++) {
    clearRootMemo()
    warm.push(await timeFactory(trustOptions(mirror.url, warmDir)))
  }
  const hot: number[] = []
  for (let i = 0; i < 200; i++) hot.push(await timeFactory(trustOptions(mirror.url, warmDir)))

  // A download host that accepts TCP and never answers, as a firewall that drops traffic looks to a client.
  const hole = await startCountingListener()
  try {
    const blackDir = freshDir()
    const url = `http://127.0.0.1:${hole.port}`
    clearRootMemo()
    const firstMs = await timeFactory(trustOptions(url, blackDir))
    // The next process: nothing in memory, the same cache folder.
    clearRootMemo()
    const nextMs = await timeFactory(trustOptions(url, blackDir))
    clearRootMemo()
    return {
      coldMs: summarise(cold), coldDownloads: median(coldHits), warmMs: summarise(warm), hotMs: summarise(hot),
      blackholed: { firstProcessMs: Number(firstMs.toFixed(1)), nextProcessMs: Number(nextMs.toFixed(1)), connectionsToHost: hole.connections() },
    }
  } finally {
    await hole.close()
  }
}

async function burst(mirror: Mirror): Promise<Results['burst']> {
  // The trust phase's background refreshes must not land in this count.
  await settleBackgroundWork()
  clearRootMemo()
  const dir = freshDir()
  const credential = credentialFor({ upn: 'alice@contoso.com' }, () => new Date())
  const hits = mirror.total()
  const built = contexts()
  const start = performance.now()
  await Promise.all(Array.from({ length: BURST }, () => createAzurePgClient({
    host: AZURE_HOST, entra: credential, env: {}, logger: silent, certs: { mirror: mirror.url, cacheDir: dir },
  })))
  const ms = since(start)
  const whileCalling = mirror.total() - hits
  // Anything the SDK refreshes in the background, off the callers' path, shows up once that work is done.
  await settleBackgroundWork()
  clearRootMemo()
  return {
    calls: BURST, ms: Number(ms.toFixed(1)), downloads: whileCalling, downloadsIncludingBackground: mirror.total() - hits,
    tokenRequests: credential.calls, contextsBuilt: contexts() - built,
  }
}

// Debian's PostgreSQL 15, where installed (apt-get install -y postgresql-15): a real pre-17 server.
const hasPg15 = existsSync(join(DEBIAN_POSTGRES_15, 'postgres'))
const [lab] = await Promise.all([startLab(['good', 'p256Only', ...(hasPg15 ? ['pg15' as ServerKind] : [])]), buildPackage()])
const mirror = await startMirror()
try {
  const pinning = await pinCpus(Object.values(lab.servers))
  const target: Target = { port: lab.server('good').port, ca: [...azureRoots, lab.root.pem], cacheDir: join(workDir, 'sdk-cache') }
  log(`bench: ${os.cpus().length} cores, node ${process.version}; servers up in ${(since(benchStart) / 1000).toFixed(1)} s; ${pinning}`)
  const latencyResult = await latency(target)
  log('  loopback latency done')
  const chart: Chart = {}
  const roundTripResult = await roundTrips(lab, target, chart)
  const poolResult = await pooled(target)
  log('  pool done')
  // BENCH_SMALL=1: a reduced OpenTelemetry comparison, for a shared machine.
  const otelResult = await otelOverhead(target, process.env['BENCH_SMALL'] === '1')
  log('  OpenTelemetry done')
  // A failover of a replicated pair, raw pg.Pool and the SDK pool side by side (bench/failover.ts).
  const failoverResult = await failoverBench(Number(process.env['BENCH_FAILOVER_RUNS'] ?? 3), log)
  log('  failover done')
  const trustResult = await trust(mirror)
  log('  trust resolution done')
  const burstResult = await burst(mirror)
  log('  burst done')
  const coldResult = await coldStart({ lab, ca: target.ca, workDir, runs: COLD_RUNS, delayMs: DELAY_MS, log })
  const results: Results = {
    date: new Date().toISOString(),
    machine: { loadAverage: Number(os.loadavg()[0]?.toFixed(1)), cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, pinning, postgres: String((await lab.admin('good', 'SHOW server_version')).rows[0]?.server_version) },
    trustSet: 'Azure roots from certs/ (3) + lab root',
    latency: latencyResult,
    roundTrips: { rttMs: 2 * DELAY_MS, cases: roundTripResult },
    pool: poolResult,
    trust: trustResult,
    burst: burstResult,
    cold: coldResult,
    durationSeconds: 0,
  }
  results.durationSeconds = Number((since(benchStart) / 1000).toFixed(1))
  const outDir = new URL('./', import.meta.url)
  const report = `${markdownReport(results)}\n${otelMarkdown(otelResult)}\n${failoverMarkdown(failoverResult)}`
  await writeFile(new URL('results.json', outDir), `${JSON.stringify({ ...results, otel: otelResult, failover: failoverResult }, null, 2)}\n`)
  await writeFile(new URL('failover.svg', outDir), failoverSvg(failoverResult, `npm run bench, ${results.date.slice(0, 10)}, ${results.machine.cpus} cores, node ${results.machine.node}, load ${failoverResult.loadAverage.before} → ${failoverResult.loadAverage.after}`))
  await writeFile(new URL('results.md', outDir), report)
  const rows = [
    { label: 'raw pg', run: chart.pg },
    { label: 'SDK, first', run: chart.sdkFirst },
    { label: 'SDK, later', run: chart.sdkLater },
  ].flatMap(({ label, run }) => run === undefined ? [] : [{
    label, segments: run.segments,
    note: `${run.roundTrips} round trips, ${(run.rttEquivalents * 2 * DELAY_MS).toFixed(0)} ms`,
  }])
  await writeFile(new URL('timeline.svg', outDir), timelineSvg(rows, {
    title: 'One new connection (connect + SELECT 1) through a 20 ms round-trip proxy, PostgreSQL 18 defaults',
    subtitle: `npm run bench, ${results.date.slice(0, 10)}, ${results.machine.cpus} cores, node ${results.machine.node}; TCP's own handshake is not delayed`,
  }))
  process.stdout.write(report)
} finally {
  await mirror.close()
  await lab.stop()
  await removeTempDir(workDir)
}
