// TypeORM: the driver option takes azure-pg-tls/pg; host, username, ... as usual.
import 'reflect-metadata'
import { DataSource } from 'typeorm'
import pg from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const dataSource = new DataSource({
  type: 'postgres',
  driver: pg,
  host: process.env['PGHOST'],
  username: process.env['PGUSER'],
  password: process.env['PGPASSWORD'],
  database: process.env['PGDATABASE'],
})
try {
  await dataSource.initialize()
  const rows: Array<{ ssl: boolean }> = await dataSource.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`typeorm: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  if (dataSource.isInitialized) await dataSource.destroy()
}
