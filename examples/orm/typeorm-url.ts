// TypeORM with url: azure-pg-tls/pg parses the URL itself, so its sslmode is checked (require is
// raised to verify-full, disable is refused) and pg never re-reads it over the verified ssl settings.
import 'reflect-metadata'
import { DataSource } from 'typeorm'
import pg from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const dataSource = new DataSource({ type: 'postgres', driver: pg, url: process.env['DATABASE_URL'] })
try {
  await dataSource.initialize()
  const rows: Array<{ ssl: boolean }> = await dataSource.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`typeorm (url): ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  if (dataSource.isInitialized) await dataSource.destroy()
}
