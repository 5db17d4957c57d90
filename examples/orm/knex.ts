// Knex: a client class whose driver is azure-pg-tls/pg; everything else is Knex's pg dialect.
import { createRequire } from 'node:module'
import knex, { type Knex } from 'knex'
import pg from 'azure-pg-tls/pg'
import { exitWithExplanation } from './explain-failure.js'

const KnexPg = createRequire(import.meta.url)('knex/lib/dialects/postgres/index.js') as typeof Knex.Client
class AzurePgKnexClient extends KnexPg {
  _driver(): typeof pg {
    return pg
  }
}

const db = knex({ client: AzurePgKnexClient, connection: {} }) // connection from PG* (or pass host, user, ...)
try {
  const { rows } = await db.raw<{ rows: Array<{ ssl: boolean }> }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`knex: ssl=${String(rows[0]?.ssl)}`)
} catch (err) {
  exitWithExplanation(err)
} finally {
  await db.destroy()
}
