// npm run bench: what the SDK costs. Pure parts in a loop, then connections against an embedded
// PostgreSQL 18 with TLS, compared with plain pg given the same resolved configuration.
// Figures are for reading, not asserting: timing belongs here, never in tests.
import pg from 'pg'
import { createAzurePgClient, createAzurePgPool, parseConnectionString, resolveAzurePgConfig, type AzurePgOptions } from '../src/index.js'
import { AZURE_HOST, LOGINS, startLab } from '../lab/lab.js'

function stats(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  return `mean ${mean.toFixed(3)} ms, p50 ${at(0.5).toFixed(3)}, p95 ${at(0.95).toFixed(3)}, n=${s.length}`
}

async function time(n: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint()
    await fn()
    out.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return out
}

const strings = [
  `postgresql://myadmin%40mydemoserver:pw@${AZURE_HOST}:5432/postgres?sslmode=require`,
  `host=${AZURE_HOST} port=5432 dbname=postgres user=myadmin@mydemoserver password='p w' sslmode=verify-full`,
  `Server=${AZURE_HOST};Database=postgres;Port=5432;User Id=myadmin@mydemoserver;Password=pw;Ssl Mode=Require;`,
  `jdbc:postgresql://${AZURE_HOST}:5432/postgres?user=myadmin@mydemoserver&password=pw&sslmode=require`,
]
const N = 20_000
let t = process.hrtime.bigint()
for (let i = 0; i < N; i++) parseConnectionString(strings[i % 4] ?? '')
console.log(`parseConnectionString (4 forms): ${(Number(process.hrtime.bigint() - t) / 1e3 / N).toFixed(2)} µs per string`)

const pure: AzurePgOptions = { host: AZURE_HOST, user: 'myadmin', serverType: 'single', env: {}, certs: { source: 'bundled' } }
await resolveAzurePgConfig(pure) // first call reads and pin-checks the bundled roots
t = process.hrtime.bigint()
for (let i = 0; i < 2000; i++) await resolveAzurePgConfig(pure)
console.log(`resolveAzurePgConfig, roots memoised: ${(Number(process.hrtime.bigint() - t) / 1e3 / 2000).toFixed(1)} µs per call`)

const lab = await startLab(['good'])
try {
  const options: AzurePgOptions = {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, database: 'postgres',
    user: 'myadmin', password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
  }
  const config = await resolveAzurePgConfig(options)
  const roundTrip = async (client: pg.Client): Promise<void> => {
    await client.connect()
    await client.query('SELECT 1')
    await client.end()
  }
  await time(5, () => roundTrip(new pg.Client(config))) // warm up
  console.log(`connect + SELECT 1 + end, plain pg with the resolved config: ${stats(await time(50, () => roundTrip(new pg.Client(config))))}`)
  console.log(`connect + SELECT 1 + end, createAzurePgClient each time:     ${stats(await time(50, async () => roundTrip(await createAzurePgClient(options))))}`)

  const pool = await createAzurePgPool({ ...options, max: 10 })
  const start = process.hrtime.bigint()
  await Promise.all(Array.from({ length: 2000 }, () => pool.query('SELECT 1')))
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  console.log(`pool of 10, 2000 queries: ${ms.toFixed(0)} ms (${(2000 / (ms / 1000)).toFixed(0)} queries/s)`)
  await pool.end()
} finally {
  await lab.stop()
}
