import type { ConnectionOptions } from 'node:tls'
import type pg from 'pg'
import type { ServerType } from './config/azure-host.js'
import type { Logger } from './log.js'
import type { CertsOptions } from './trust/certs-options.js'
import type { TokenCredential } from './auth/entra.js'

/** A password, or a function pg calls for each new connection (for tokens that expire). */
export type PasswordSource = string | (() => string | Promise<string>)

/**
 * Options of {@link createAzurePgClient}: every `pg.ClientConfig` field, plus libpq-style TLS settings
 * and Azure naming. Explicit options beat the connection string, which beats the `PG*` environment.
 */
export interface AzurePgOptions extends Omit<pg.ClientConfig, 'ssl' | 'connectionString' | 'password'> {
  /** A connection string in URI, `key=value`, ADO.NET (Npgsql) or JDBC form, as the Azure portal shows it. */
  connectionString?: string
  password?: PasswordSource
  /**
   * node `tls` options. Verification cannot be turned off: `false`, `rejectUnauthorized: false`,
   * `checkServerIdentity` and TLS older than 1.2 are refused. `ca` replaces the Azure roots.
   */
  ssl?: boolean | ConnectionOptions
  /** libpq sslmode. `verify-full` is the default; `require` and `verify-ca` are raised to it; weaker modes are refused. */
  sslmode?: string
  /** Path of a PEM (or DER) file of roots to trust instead of Azure's, or `system` for Node's built-in roots. */
  sslrootcert?: string
  /** `postgres` (SSLRequest first, the default) or `direct` (PostgreSQL 17+ direct TLS with ALPN). */
  sslnegotiation?: 'postgres' | 'direct'
  /** IP address to connect to, while the certificate is verified against `host` (libpq's meaning). */
  hostaddr?: string
  /** `single` sends `user@server`; `flexible` and `auto` (the default) send the user as given. Env: `AZURE_PG_TLS_SERVER_TYPE`. */
  serverType?: ServerType
  /** The short server name, for hosts outside Azure's DNS suffixes (a custom CNAME). Env: `AZURE_PG_TLS_SERVER_NAME`. */
  serverName?: string
  /** Environment to read `PG*` and `AZURE_PG_TLS_*` variables from; defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
  /** Receives warnings; defaults to silence unless `DEBUG=azure-pg-tls`. */
  logger?: Logger
  /** Where Azure's roots come from (download, cache, mirror, bundled copy). */
  certs?: CertsOptions
  /** The clock root expiry and token refresh are judged by; defaults to the system clock. */
  now?: () => Date
  /**
   * Sign in with Microsoft Entra ID: `true` for `DefaultAzureCredential` (needs `@azure/identity`), or any
   * `TokenCredential`. The token becomes the password of every new connection; the user defaults to the token's.
   */
  entra?: true | TokenCredential
  /** Token scope; defaults to the scope of the host's Azure cloud (or Cosmos DB for PostgreSQL). */
  entraScope?: string
}

/** Options of {@link createAzurePgPool}: {@link AzurePgOptions} plus `pg.PoolConfig`'s pool settings. */
export interface AzurePgPoolOptions extends AzurePgOptions, Omit<pg.PoolConfig, keyof pg.ClientConfig | 'Client'> {}
