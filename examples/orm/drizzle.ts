// Drizzle: hand it azure-pg-tls/pg's Pool.
import { sql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/node-postgres'
import { Pool } from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const pool = new Pool()
const db = drizzle({ client: pool })
try {
  const { rows } = await db.execute<{ ssl: boolean }>(sql`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`)
  console.log(`drizzle: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await pool.end()
}
