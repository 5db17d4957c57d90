// The error table for connections the SDK did not make: libraries that take a pg configuration and
// bring their own pg (pg-promise pins its own copy), so their failures never pass through
// AzurePgClient. All they can hand over is the error and the configuration they were given; the
// explanation is the same row of the same table (explain.ts) an SDK client would have used.
import { connectionTarget } from './config/target.js'
import type { AzurePgError } from './errors.js'
import { explainConnectError } from './explain.js'
import type { AzurePgClientConfig } from './connect/prepare.js'
import type { AzurePgOptions } from './options.js'

/** What the unknown-CA message says was trusted: a configuration carries roots, not where they came from. */
const TRUST = 'the configured roots'

/**
 * The configuration a connection was made with, for {@link explainPgConnectError}: the SDK's options,
 * the resolved configuration, a connection string, or another library's copy of them (pg-promise's
 * `db.$cn`, typed as its own connection parameters), which is why any object is accepted.
 */
export type PgConnectConfig = AzurePgOptions | AzurePgClientConfig | string | object

/**
 * Explains a failure to connect, from a connection made by another library with the SDK's
 * configuration, as the {@link AzurePgError} an SDK client would have thrown: the same `code`,
 * `reason`, one-line `hint`, and the original error as `cause`. For pg-promise,
 * `pgp(await resolveAzurePgConfig(options))`, whose errors are pg's and Node's own.
 *
 * `config` is what the connection was made with: the resolved configuration (pg-promise's
 * `db.$cn`), the options given to `resolveAzurePgConfig`, or a connection string; with none, the
 * environment the SDK reads (`PG*`, `AZURE_POSTGRESQL_*`, `DATABASE_URL`). It names the server and
 * user in the message, and supplies the password to withhold: a server's or Node's text that holds
 * the password (or the whole connection string) is replaced whole, never edited, and so is a cause
 * that holds it. A password given as a function is unknown here, so its answers cannot be withheld.
 * Nothing else from the configuration is echoed, not even why it could not be read.
 *
 * Give it errors from connecting (pg-promise's `db.connect()`, or a query whose connection could not
 * be made): every error becomes an AzurePgError, so an SQL error passed here would be mislabelled
 * `CONNECTION_FAILED`. An AzurePgError comes back as it is.
 */
export function explainPgConnectError(err: unknown, config?: PgConnectConfig): AzurePgError {
  // Any object: connectionTarget reads it field by field and ignores a field of the wrong type.
  const options = (typeof config === 'string' ? { connectionString: config } : config ?? {}) as AzurePgOptions
  const { context, secrets } = connectionTarget(options, TRUST)
  return explainConnectError(err, context, secrets)
}
