// Kysely: PostgresDialect over azure-pg-tls/pg's Pool.
import { Kysely, PostgresDialect, sql } from 'kysely'
import { Pool } from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool: new Pool() }) })
try {
  const { rows } = await sql<{ ssl: boolean }>`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`.execute(db)
  console.log(`kysely: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await db.destroy()
}
