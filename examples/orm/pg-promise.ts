// pg-promise: give it the resolved configuration. pg-promise brings its own pg, so the SDK's client
// is not involved: the configuration makes its TLS verified, and explainPgConnectError turns its
// connect failures (pg's and Node's own errors) into the SDK's AzurePgError.
import pgPromise from 'pg-promise'
import { explainPgConnectError, resolveAzurePgConfig, type AzurePgClientConfig } from 'azure-pg-tls'
import { exitWithExplanation } from './explain-failure.js'

const pgp = pgPromise()
let cn: AzurePgClientConfig
try {
  cn = await resolveAzurePgConfig() // from PG* (or pass host, user, ...); refuses an insecure setting
} catch (err) {
  exitWithExplanation(err)
}
// The cast only satisfies pg-promise's types, which declare several of pg's options differently from
// @types/pg (the password function, ssl.key, stream, types): the object is a plain pg configuration.
const db = pgp(cn as Parameters<typeof pgp>[0])
try {
  // pg-promise's way to check the connection: what fails here is the connection, never SQL.
  const connection = await db.connect()
  connection.done()
} catch (err) {
  pgp.end()
  exitWithExplanation(explainPgConnectError(err, cn))
}
try {
  const { ssl } = await db.one<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
  console.log(`pg-promise: ssl=${String(ssl)}`)
} finally {
  pgp.end()
}
