// The smallest real program: connect to Azure Database for PostgreSQL with verified TLS.
//
//   DATABASE_URL='postgresql://myadmin:...@mydemoserver.postgres.database.azure.com/postgres' \
//     node --import tsx examples/quickstart.ts
//
// or with PGHOST, PGUSER, PGPASSWORD, PGDATABASE (and AZURE_PG_TLS_SERVER_TYPE=single for Single Server).
import { createAzurePgClient, AzurePgError } from 'azure-pg-tls'

try {
  const client = await createAzurePgClient({ connectionString: process.env['DATABASE_URL'] })
  await client.connect()
  const { rows } = await client.query<{ who: string; tls: string }>(
    'SELECT current_user AS who, s.version AS tls FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')
  console.log(`connected as ${rows[0]?.who ?? '?'} over ${rows[0]?.tls ?? '?'}, certificate and host name verified`)
  await client.end()
} catch (err) {
  if (!(err instanceof AzurePgError)) throw err
  console.error(`${err.code}: ${err.message}\nfix: ${err.hint}`)
  process.exitCode = 1
}
