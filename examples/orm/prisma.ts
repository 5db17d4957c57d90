// Prisma through @prisma/adapter-pg: hand the adapter azure-pg-tls/pg's Pool. With a generated client
// this is `new PrismaClient({ adapter })`; here the adapter's own query path is used directly, since
// Prisma's engines and `prisma generate` need a download.
import { PrismaPg } from '@prisma/adapter-pg'
import { Pool } from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const pool = new Pool()
const adapter = new PrismaPg(pool)
try {
  const driver = await adapter.connect()
  const result = await driver.queryRaw({ sql: 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', args: [], argTypes: [] })
  console.log(`prisma (adapter-pg): ssl=${String(result.rows[0]?.[0])}`)
  await driver.dispose()
} catch (err) {
  exitWithExplanation(err)
} finally {
  await pool.end()
}
