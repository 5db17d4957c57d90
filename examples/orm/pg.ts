// Plain node-postgres: change the import, keep the code. Reads PGHOST, PGUSER, PGPASSWORD, ... (or
// Service Connector's AZURE_POSTGRESQL_*, or DATABASE_URL) like pg, and connects only over verified TLS.
import pg from 'azure-pg-tls/pg' // was: import pg from 'pg'
import { exitWithExplanation } from './explain-failure.js'

const pool = new pg.Pool({ max: 5 })
try {
  const { rows } = await pool.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`pg: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await pool.end()
}
