// npm run soak [-- MINUTES [--seed N] [--out FILE]]: a pool of 20 kept saturated for MINUTES (default 10)
// through the lab's fault proxy, with faults (reset, stall, close at every phase) and server restarts
// at random, from a seeded PRNG (the seed is printed: the same seed replays the same schedule). Prints
// and writes JSON: queries done, errors by code and by code/reason/phase, p50/p99 latency, heap and
// handle counts at start and end. Only 127.0.0.1; every loop is bounded by the deadline.
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { AzurePgError, createAzurePgPool } from '../src/index.js'
import { FAULT_KINDS, FAULT_PHASES, startFaultProxy, type FaultProxy } from '../lab/fault-proxy.js'
import { AZURE_HOST, LOGINS, startLab } from '../lab/lab.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seed: { type: 'string' }, out: { type: 'string' } },
})
const minutes = Number(positionals[0] ?? 10)
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 24 * 60) throw new Error(`minutes must be a number in (0, 1440], not ${positionals[0]}`)
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
const out = values.out ?? new URL('./soak-results.json', import.meta.url)

/** mulberry32: small, seedable, good enough to pick faults. */
function prng(s: number): () => number {
  let a = s >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = prng(seed)
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

const WORKERS = 20
const LIMIT_MS = 2000

function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1
  return counts
}
const heapMb = (): number => Math.round(process.memoryUsage().heapUsed / 1e5) / 10
const percentile = (sorted: Float64Array, q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 100) / 100

console.log(`soak: ${minutes} min, ${WORKERS} workers, seed ${seed}`)
const lab = await startLab(['good'])
const server = lab.server('good')
// The proxy keeps a record of every connection (lab code, in this process): it is dropped before the
// heap is measured at the end, so the end figure is the SDK's and pg's.
let proxy: FaultProxy | undefined = await startFaultProxy({ upstreamPort: server.port })
const proxyPort = proxy.port
const start = { heapMb: heapMb(), handles: handleCounts() }

// maxUses makes the pool open new connections all the time, so connect-phase faults keep meeting them.
const pool = await createAzurePgPool({
  host: AZURE_HOST, hostaddr: '127.0.0.1', port: proxyPort, database: 'postgres', user: LOGINS.flexible.user,
  password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {}, max: WORKERS, maxUses: 200,
  connectionTimeoutMillis: LIMIT_MS, query_timeout: LIMIT_MS,
})
const errorsByCode: Record<string, number> = {}
const errorsByKind: Record<string, number> = {}
const count = (err: unknown): void => {
  const code = err instanceof AzurePgError ? err.code : `not an AzurePgError: ${(err as { code?: unknown })?.code ?? (err as Error)?.message ?? String(err)}`
  errorsByCode[code] = (errorsByCode[code] ?? 0) + 1
  const kind = err instanceof AzurePgError ? `${err.code}/${err.reason ?? '-'}/${err.phase ?? '-'}` : code
  errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1
}
pool.on('error', count)

let latencies = new Float64Array(1 << 16)
let done = 0
const deadline = Date.now() + minutes * 60_000
const events: string[] = []
let faults = 0
let restarts = 0

async function worker(id: number): Promise<void> {
  let n = 0
  while (Date.now() < deadline) {
    const t = process.hrtime.bigint()
    try {
      // About 2 kB of answer: several TLS records' worth for a mid-result fault to cut.
      await pool.query("SELECT repeat('x', 2000) AS payload, $1::int AS n", [id * 1_000_000 + n++])
      if (done === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2)
        bigger.set(latencies)
        latencies = bigger
      }
      latencies[done++] = Number(process.hrtime.bigint() - t) / 1e6
    } catch (err) {
      count(err)
      await sleep(20)
    }
  }
}

/** Every 3 to 12 s: a fault at a random phase for 0.5 to 3 s, or (one time in six) a server restart. */
async function chaos(): Promise<void> {
  while (Date.now() < deadline - 5000) {
    await sleep(3000 + random() * 9000)
    if (Date.now() >= deadline - 5000) break
    if (random() < 1 / 6) {
      const down = Math.round(random() * 1000)
      events.push(`${Math.round((Date.now() - deadline) / 1000 + minutes * 60)}s restart (down ${down} ms)`)
      restarts++
      await server.restart(down)
    } else {
      const phase = pick(FAULT_PHASES)
      const fault = pick(FAULT_KINDS)
      const ms = Math.round(500 + random() * 2500)
      events.push(`${Math.round((Date.now() - deadline) / 1000 + minutes * 60)}s ${fault} at ${phase} for ${ms} ms`)
      faults++
      proxy?.inject({ phase, fault, afterBytes: 500, queryRecord: 3 })
      await sleep(ms)
      proxy?.heal()
    }
  }
}

const progress = setInterval(() => {
  const errors = Object.values(errorsByCode).reduce((a, b) => a + b, 0)
  console.log(`  ${Math.round((Date.now() - deadline) / 1000 + minutes * 60)}s: ${done} queries, ${errors} errors, ${faults} faults, ${restarts} restarts, heap ${heapMb()} MB`)
}, 30_000)
await Promise.all([chaos(), ...Array.from({ length: WORKERS }, (_, i) => worker(i))])
clearInterval(progress)
proxy?.heal()
await pool.end()
// Let closing sockets finish closing before counting what is left.
await sleep(1000)
const endHandles = handleCounts()
const connections = proxy?.connections().length
await proxy?.close()
proxy = undefined
// Two full collections with a turn between: V8 sweeps concurrently, and heapUsed read right after one
// gc() still counts pages that are about to be swept.
const global = globalThis as { gc?: () => void }
global.gc?.()
await sleep(200)
global.gc?.()
const end = { heapMb: heapMb(), handles: endHandles }
await lab.stop()

const sorted = latencies.slice(0, done).sort()
const results = {
  minutes, seed, workers: WORKERS, limitMs: LIMIT_MS, node: process.version,
  queries: done, queriesPerSecond: Math.round(done / (minutes * 60)),
  errors: Object.values(errorsByCode).reduce((a, b) => a + b, 0),
  errorsByCode, errorsByKind,
  latencyMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: percentile(sorted, 1) },
  connections, faults, restarts, heap: { startMb: start.heapMb, endMb: end.heapMb }, handles: { start: start.handles, end: end.handles },
  events,
}
console.log(JSON.stringify({ ...results, events: `${events.length} (in the file)` }, null, 2))
await writeFile(out, `${JSON.stringify(results, null, 2)}\n`)
console.log(`written to ${out instanceof URL ? out.pathname : out}`)
