// One cold process of the bench (bench/cold-start.ts): a new Node process imports its contender (raw pg,
// or the built package by its own name, so dist/ exactly as users get it), opens one verified connection,
// runs SELECT 1, closes it and ends by itself (no process.exit: background work of the SDK, such as
// saving what it learned, is part of the whole process's cost). Plain JavaScript, so no TypeScript loader
// is timed. It prints one JSON line: milliseconds since the process started at each step, and its memory.
import { readFileSync } from 'node:fs'

const env = process.env
const who = env.COLD_WHO
const mark = () => Number(performance.now().toFixed(2))
const memory = () => {
  const m = process.memoryUsage()
  return { rssMb: Number((m.rss / 1048576).toFixed(1)), heapUsedMb: Number((m.heapUsed / 1048576).toFixed(1)) }
}
// CPU time since the process started (user + system): on a shared machine it moves far less with the load than wall time.
const cpu = () => {
  const u = process.cpuUsage()
  return Number(((u.user + u.system) / 1000).toFixed(2))
}

const started = mark()
const pg = who === 'pg' ? (await import('pg')).default : undefined
const sdk = who === 'sdk' ? await import('azure-pg-tls') : undefined
const imported = mark()
const afterImport = { ...memory(), importCpuMs: cpu() }
if (env.COLD_MODE === 'import') {
  process.stdout.write(`${JSON.stringify({ started, imported, ...afterImport })}\n`)
} else {
  // The same trust set for both contenders, read the same way.
  const ca = readFileSync(env.COLD_CA_FILE, 'utf8')
  const server = { port: Number(env.COLD_PORT), user: env.COLD_USER, password: env.COLD_PASSWORD, database: 'postgres' }
  const client = pg !== undefined
    ? new pg.Client({ ...server, host: '127.0.0.1', ssl: { ca, servername: env.COLD_HOST } })
    : await sdk.createAzurePgClient({ ...server, host: env.COLD_HOST, hostaddr: '127.0.0.1', ssl: { ca }, env: {}, certs: { cacheDir: env.COLD_CACHE_DIR } })
  const created = mark()
  await client.connect()
  await client.query('SELECT 1')
  const answered = mark()
  await client.end()
  process.stdout.write(`${JSON.stringify({ started, imported, created, answered, ended: mark(), cpuMs: cpu(), ...afterImport })}\n`)
  // As a serverless handler or a script that ends itself: nothing still pending gets to finish.
  if (env.COLD_EXIT === '1') process.exit(0)
}
