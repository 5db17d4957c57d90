// The public vocabulary: every option and every type a caller names, and the defaults layers share.
// This module imports nothing internal, so every other layer can depend on it without a cycle.
import type { ConnectionOptions } from 'node:tls'
import type pg from 'pg'

/** The connect time limit when none is set: TCP, TLS and login together. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000

/**
 * The most servers one configuration may name. libpq has no limit; here each host may cost a whole connect
 * time limit before the next is tried, so the list bounds how long a connection can take (16 × the limit).
 * A primary, its standby, Azure's read replicas and virtual endpoints fit many times over: a longer list is
 * a mistake or hostile input.
 */
export const MAX_HOSTS = 16

/** A password, or a function pg calls for each new connection (for tokens that expire). */
export type PasswordSource = string | (() => string | Promise<string>)

/** Where per-server facts the SDK learns are kept: a day in the cache folder, the process only, or nowhere. */
export type LearnMode = 'disk' | 'memory' | 'off'

/**
 * libpq's channel_binding: `require` accepts only a SCRAM login bound to the TLS session
 * (SCRAM-SHA-256-PLUS), `prefer` (the default) binds when the server offers it, `disable` never binds.
 */
export type ChannelBinding = 'disable' | 'prefer' | 'require'

/** Which Azure Database for PostgreSQL deployment to name users for. */
export type ServerType = 'auto' | 'single' | 'flexible'

/**
 * libpq 14+'s `target_session_attrs`: which server of the host list a connection may settle on. `any` (the
 * default) takes the first that accepts; `read-write`/`read-only` judge `transaction_read_only`,
 * `primary`/`standby` judge `pg_is_in_recovery()`; `prefer-standby` tries for a standby, then takes any.
 */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby'

/** libpq 16's `load_balance_hosts`: try the hosts in the order given (`disable`), or shuffled per connection (`random`). */
export type LoadBalanceHosts = 'disable' | 'random'

/** The Azure cloud a host name belongs to. */
export type AzureCloud = 'public' | 'usgov' | 'china'

/** The Azure PostgreSQL service behind a host name. */
export type AzureService = 'postgres' | 'cosmos'

/** What a host name tells about the Azure server behind it. */
export interface AzureHostInfo {
  readonly cloud: AzureCloud
  readonly service: AzureService
  /** The name goes through a private DNS zone (`privatelink.` or VNet `private.`). */
  readonly privateLink: boolean
  /** The short server name (first DNS label, lower-cased); undefined for Cosmos DB clusters. */
  readonly serverName: string | undefined
}

/** Where azure-pg-tls sends warnings (an expired root, an ignored connection-string key). */
export interface Logger {
  warn(message: string): void
}

/** An access token as `@azure/identity` returns it. */
export interface AccessToken {
  readonly token: string
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresOnTimestamp: number
}

/** The `TokenCredential` shape of `@azure/identity`: any of its credentials fits. */
export interface TokenCredential {
  getToken(scopes: string | string[], options?: Record<string, unknown>): Promise<AccessToken | null>
}

/** The parts of a fetch response the downloader reads; node-fetch's and Node's own both fit. */
export interface FetchResponse {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  readonly body: AsyncIterable<Uint8Array | string> | null
}

/** A fetch implementation: node-fetch by default; pass another for proxies or tests. */
export type FetchFunction = (url: string, init: {
  signal: AbortSignal
  redirect: 'manual'
  headers: Record<string, string>
}) => Promise<FetchResponse>

/** Where Azure's roots come from: see the README's "Certificates" section. */
export type CertSource = 'auto' | 'download' | 'bundled'

/**
 * Which Azure roots are trusted: `default`, the roots Azure's PostgreSQL servers chain to (Microsoft's "good"
 * tier); `all`, every current root of Microsoft's "Azure Certificate Authority details" page (with
 * `ssl.minVersion: 'TLSv1.3'`, Microsoft's "best" tier).
 */
export type RootSet = 'default' | 'all'

/** The `certs` option of the factories. Every field has an `AZURE_PG_TLS_*` variable or a default. */
export interface CertsOptions {
  /** `auto`: cache, else the bundled copy at once with a background download into the cache; `download`: cache, else a download waited for, no bundled fallback; `bundled`: only `certs/`. Env `AZURE_PG_TLS_CERT_SOURCE`. */
  source?: CertSource
  /** Never use the network: cache, then bundled. Env `AZURE_PG_TLS_OFFLINE=1`. */
  offline?: boolean
  /** Cache folder. Env `AZURE_PG_TLS_CACHE_DIR`; default `$XDG_CACHE_HOME/azure-pg-tls`, else `~/.cache/azure-pg-tls`. */
  cacheDir?: string
  /**
   * Base URL of an internal mirror serving each root under its official file name. Env `AZURE_PG_TLS_CERT_MIRROR`.
   * Credentials in it (`https://user:pass@pki.internal/azure/`) are sent as HTTP Basic authorization to the
   * mirror's own origin only, never after a redirect to another origin, and never printed.
   */
  mirror?: string
  /** Time limit of one download in milliseconds (default 5000). */
  timeoutMs?: number
  /** The fetch to download with (default: node-fetch, loaded only when a download happens). */
  fetch?: FetchFunction
  /** `default` (Azure's PostgreSQL roots) or `all` (every current Azure root). Env `AZURE_PG_TLS_ROOTS`. */
  roots?: RootSet
}

/**
 * Options of `createAzurePgClient`: every `pg.ClientConfig` field, plus libpq-style TLS settings
 * and Azure naming. Explicit options beat the connection string, which beats the environment.
 */
export interface AzurePgOptions extends Omit<pg.ClientConfig, 'ssl' | 'connectionString' | 'password' | 'sslnegotiation' | 'host' | 'port'> {
  /** A connection string in URI, `key=value`, ADO.NET (Npgsql) or JDBC form, as the Azure portal shows it. */
  connectionString?: string
  /**
   * The server's name (the certificate is checked against it), or several servers to try in order, as an
   * array or a comma list (`'a,b'`, libpq's form); at most {@link MAX_HOSTS}. Env `PGHOST`.
   */
  host?: string | readonly string[]
  /**
   * The TCP port (default 5432): one for every host, or one per host as an array or a comma list
   * (`'5432,6432'`); an empty entry means 5432, as in libpq. Env `PGPORT`.
   */
  port?: number | string | readonly (number | string)[]
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
  /**
   * `auto` (the default): SSLRequest first, then direct TLS (PostgreSQL 17+, ALPN `postgresql`) for a server
   * that reported 17 or newer, falling back once if it refuses. `postgres` and `direct` keep libpq's meaning.
   */
  sslnegotiation?: 'auto' | 'postgres' | 'direct'
  /**
   * libpq's channel_binding: `require` refuses, before the password is used, a server that does not offer
   * SCRAM-SHA-256-PLUS (PgBouncer cannot) or asks for another method; `prefer` (the default) binds when
   * offered; `disable` never binds. Env `PGCHANNELBINDING`. pg's `enableChannelBinding: false` means `disable`.
   */
  channel_binding?: ChannelBinding
  /**
   * libpq 16's require_auth: the methods the server may ask for, as a comma list of `password`, `md5`,
   * `scram-sha-256` and `none` (no authentication), or the ones it may not, each prefixed with `!`. A server
   * asking for another gets nothing and the connection fails with `AUTH_METHOD_REFUSED`. Env `PGREQUIREAUTH`.
   * With `entra`, allow `password`: Azure asks for the token as a cleartext password (inside verified TLS).
   */
  require_auth?: string
  /** What is learned per server (direct TLS works, preferred key-share group): `disk` (default), `memory`, `off`. Env `AZURE_PG_TLS_LEARN`. */
  learn?: LearnMode
  /** Which server of the host list to settle on (libpq's meaning). Env `PGTARGETSESSIONATTRS`. Default `any`. */
  target_session_attrs?: TargetSessionAttrs
  /** Host order per connection: `disable` (as given, the default) or `random` (libpq 16). Env `PGLOADBALANCEHOSTS`. */
  load_balance_hosts?: LoadBalanceHosts
  /**
   * IP address to connect to, while the certificate is verified against `host` (libpq's meaning); with several
   * hosts, one address per host by position (an array or a comma list; an empty entry looks that host up by name).
   */
  hostaddr?: string | readonly string[]
  /** `single` sends `user@server`; `flexible` and `auto` (the default) send the user as given. Env: `AZURE_PG_TLS_SERVER_TYPE`. */
  serverType?: ServerType
  /** The short server name, for hosts outside Azure's DNS suffixes (a custom CNAME). Env: `AZURE_PG_TLS_SERVER_NAME`. */
  serverName?: string
  /** Environment to read `PG*`, `AZURE_POSTGRESQL_*`, `DATABASE_URL` and `AZURE_PG_TLS_*` variables from; defaults to `process.env`. */
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
  /**
   * With `entra: true`: the client ID of the user-assigned managed identity `DefaultAzureCredential`
   * signs in as. Env: `AZURE_POSTGRESQL_CLIENTID` (set by Azure Service Connector).
   */
  managedIdentityClientId?: string
}

/** Options of `createAzurePgPool`: {@link AzurePgOptions} plus `pg.PoolConfig`'s pool settings. */
export interface AzurePgPoolOptions extends AzurePgOptions, Omit<pg.PoolConfig, keyof pg.ClientConfig | 'Client'> {}
