// Sequelize: dialectModule takes azure-pg-tls/pg. Give host and port (Sequelize's defaults are localhost:5432);
// PGHOSTADDR, PGSSLROOTCERT and the like are still read from the environment.
import { QueryTypes, Sequelize } from 'sequelize'
import pg from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const sequelize = new Sequelize(process.env['PGDATABASE'] ?? 'postgres', process.env['PGUSER'] ?? '', process.env['PGPASSWORD'], {
  host: process.env['PGHOST'],
  port: Number(process.env['PGPORT'] ?? 5432),
  dialect: 'postgres',
  dialectModule: pg,
  logging: false,
})
try {
  const rows = await sequelize.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()', { type: QueryTypes.SELECT })
  console.log(`sequelize: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await sequelize.close()
}
