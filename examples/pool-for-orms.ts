// A pool for the application, and the same verified configuration for any library that takes pg
// options (Knex's `connection`, Drizzle's and Kysely's `pg.Pool`, TypeORM's `extra`).
import pg from 'pg'
import { createAzurePgPool, resolveAzurePgConfig } from 'azure-pg-tls'

const pool = await createAzurePgPool({ max: 10, idleTimeoutMillis: 30_000 })
const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_ssl WHERE ssl')
console.log(`pool: ${rows[0]?.n ?? 0} TLS session(s) on the server`)
await pool.end()

// For Knex: knex({ client: 'pg', connection: config }); for Drizzle: drizzle(new pg.Pool(config)).
const config = await resolveAzurePgConfig()
const orm = new pg.Pool(config)
const check = await orm.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
console.log(`resolved config: ssl=${String(check.rows[0]?.ssl)}, rejectUnauthorized=${String(config.ssl.rejectUnauthorized)}, servername=${config.ssl.servername ?? '-'}`)
await orm.end()
