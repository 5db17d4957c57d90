// MikroORM (v7): its pg.Pool takes a Client class through driverOptions; give it azure-pg-tls/pg's.
import { MikroORM } from '@mikro-orm/postgresql'
import { Client } from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

let orm: MikroORM | undefined
try {
  orm = await MikroORM.init({
    host: process.env['PGHOST'],
    port: Number(process.env['PGPORT'] ?? 5432),
    user: process.env['PGUSER'],
    password: process.env['PGPASSWORD'],
    dbName: process.env['PGDATABASE'] ?? 'postgres',
    driverOptions: { Client },
    entities: [],
    discovery: { warnWhenNoEntities: false },
  })
  const rows = await orm.em.getConnection().execute<Array<{ ssl: boolean }>>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`mikro-orm: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await orm?.close()
}
