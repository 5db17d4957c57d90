import { isIP } from 'node:net'
import { invalidConfig } from '../errors.js'
import type { AzurePgOptions, PasswordSource } from '../options.js'
import { azureLoginName, classifyAzureHost, type AzureHostInfo, type ServerType } from './azure-host.js'
import { parseConnectionString, type ParsedConnectionString } from './connection-string.js'
import { decideTls, isTruthy, type Setting, type TlsDecision } from './tls-policy.js'
import { entraScopeFor } from '../auth/entra.js'

/** The merged, validated configuration: the only thing later steps look at. */
export interface ResolvedSettings {
  /** The server's name: what the certificate is checked against. */
  readonly host: string
  /** Where the socket goes: `hostaddr` if given, else `host`. */
  readonly connectHost: string
  readonly port: number
  readonly database: string
  /** The user name as it will be sent (Azure naming applied); undefined only with Entra, to be taken from the token. */
  readonly user: string | undefined
  readonly password: PasswordSource | undefined
  /** With Entra ID sign-in: the token scope. */
  readonly entraScope: string | undefined
  readonly serverType: ServerType
  readonly serverName: string | undefined
  readonly azure: AzureHostInfo | undefined
  readonly tls: TlsDecision
  /** Other pg settings: from options as given, and libpq keys from the string or environment. */
  readonly pgExtras: Readonly<Record<string, unknown>>
  /** Things worth telling the user that did not stop the connection. */
  readonly warnings: readonly string[]
}

/** Option keys this module consumes; every other option is passed to pg untouched. */
const OWN_KEYS = new Set([
  'connectionString', 'host', 'hostaddr', 'port', 'database', 'user', 'password', 'ssl', 'sslmode', 'sslrootcert',
  'sslnegotiation', 'serverType', 'serverName', 'env', 'logger', 'application_name', 'fallback_application_name',
  'options', 'client_encoding', 'connectionTimeoutMillis', 'certs', 'now', 'entra', 'entraScope',
])

type Env = Readonly<Record<string, string | undefined>>

/** Looks a setting up by precedence: explicit option > connection string > environment variable. */
function lookup(
  options: AzurePgOptions, parsed: ParsedConnectionString | undefined, env: Env,
  optionKey: keyof AzurePgOptions | undefined, stringKey: string | undefined, envKey: string | undefined,
): Setting | undefined {
  if (optionKey !== undefined) {
    const v = options[optionKey]
    if (v !== undefined && v !== null) return { value: String(v), origin: `option "${optionKey}"` }
  }
  const p = stringKey === undefined ? undefined : parsed?.params[stringKey]
  if (p !== undefined) return { value: p.value, origin: `connection string key "${p.key}"` }
  const e = envKey === undefined ? undefined : env[envKey]
  if (e !== undefined && e !== '') return { value: e, origin: `environment variable ${envKey}` }
  return undefined
}

function parsePort(s: Setting): number {
  const port = /^\d{1,5}$/.test(s.value.trim()) ? Number(s.value) : NaN
  if (!(port >= 1 && port <= 65535)) {
    throw invalidConfig(`port (from ${s.origin}) is not a port number: "${s.value}".`, 'Use a number from 1 to 65535; Azure uses 5432 (6432 for PgBouncer).')
  }
  return port
}

function parseSeconds(s: Setting): number {
  const n = Number(s.value)
  if (!Number.isFinite(n) || n < 0) {
    throw invalidConfig(`connect_timeout (from ${s.origin}) is not a number of seconds.`, 'Use a whole number of seconds, for example connect_timeout=10.')
  }
  return n * 1000
}

/** In the string, libpq's `sslmode` beats the `ssl=true|false` shorthand of node-postgres and JDBC. */
function stringSslMode(parsed: ParsedConnectionString | undefined, fromString: (k: string) => Setting | undefined): Setting | undefined {
  const mode = fromString('sslmode')
  if (mode !== undefined) return mode
  const ssl = parsed?.params['ssl']
  if (ssl === undefined) return undefined
  return { value: isTruthy(ssl.value) ? 'require' : 'disable', origin: `connection string key "${ssl.key}=${ssl.value}"` }
}

/**
 * Merges options, connection string and environment (in that precedence), applies the TLS policy and
 * Azure naming, and returns the settings to connect with. Pure: the environment is a parameter.
 * Throws `AzurePgError` (`INVALID_CONFIG`, `INSECURE_TLS`, `USER_SERVER_MISMATCH`).
 */
export function resolveSettings(options: AzurePgOptions, env: Env): ResolvedSettings {
  const parsed = options.connectionString === undefined ? undefined : parseConnectionString(options.connectionString)
  const warnings: string[] = []
  for (const key of parsed?.unknownKeys ?? []) warnings.push(`connection string key "${key}" is not used by azure-pg-tls and was ignored.`)
  const get = (o: keyof AzurePgOptions | undefined, s: string | undefined, e: string | undefined): Setting | undefined =>
    lookup(options, parsed, env, o, s, e)

  const hostSetting = get('host', 'host', 'PGHOST')
  const hostaddrSetting = get('hostaddr', 'hostaddr', 'PGHOSTADDR')
  if (hostaddrSetting !== undefined && isIP(hostaddrSetting.value) === 0) {
    throw invalidConfig(`hostaddr (from ${hostaddrSetting.origin}) is not an IP address.`, 'Set hostaddr to an IPv4 or IPv6 address, and host to the server name the certificate carries.')
  }
  const host = hostSetting?.value ?? hostaddrSetting?.value
  if (host === undefined || host === '') {
    throw invalidConfig('No host is configured.', 'Set host (or PGHOST, or the connection string\'s host) to <server>.postgres.database.azure.com.')
  }
  if (host.includes(',')) throw invalidConfig('The host names several servers; azure-pg-tls connects to one.', 'Set a single host.')

  const portSetting = get('port', 'port', 'PGPORT')
  const port = portSetting === undefined ? 5432 : parsePort(portSetting)

  const sslrootcert = get('sslrootcert', 'sslrootcert', 'PGSSLROOTCERT')
  const fromString = (k: string): Setting | undefined => get(undefined, k, undefined)
  const tls = decideTls({
    host,
    sslmode: options.sslmode !== undefined ? { value: options.sslmode, origin: 'option "sslmode"' }
      : stringSslMode(parsed, fromString) ?? get(undefined, undefined, 'PGSSLMODE'),
    ssl: options.ssl,
    sslrootcert,
    sslrootcertIsOption: options.sslrootcert !== undefined,
    trustServerCertificate: fromString('trustservercertificate'),
    sslfactory: fromString('sslfactory'),
    clientCertificate: fromString('sslcert') ?? fromString('sslkey') ?? get(undefined, undefined, 'PGSSLCERT') ?? get(undefined, undefined, 'PGSSLKEY'),
    sslnegotiation: get('sslnegotiation', 'sslnegotiation', 'PGSSLNEGOTIATION'),
  })
  if (tls.strengthened) {
    warnings.push(`sslmode "${tls.requestedMode}" was raised to verify-full: the certificate and host name are always verified.`)
  }

  const serverType = (options.serverType ?? env['AZURE_PG_TLS_SERVER_TYPE'] ?? 'auto') as ServerType
  if (!['auto', 'single', 'flexible'].includes(serverType)) {
    throw invalidConfig(`serverType "${String(serverType)}" is not 'auto', 'single' or 'flexible'.`, "Use serverType 'single' for Single Server (user@server), 'flexible' for Flexible Server.")
  }
  const azure = classifyAzureHost(host)
  const optionServer = (options.serverName ?? env['AZURE_PG_TLS_SERVER_NAME'])?.toLowerCase()
  if (optionServer !== undefined && azure?.serverName !== undefined && optionServer !== azure.serverName) {
    throw invalidConfig(`serverName "${optionServer}" differs from the server "${azure.serverName}" in the host name.`, 'Remove serverName: it is only needed for hosts outside Azure\'s DNS names.')
  }
  const serverName = optionServer ?? azure?.serverName
  if (serverType === 'single' && azure?.service === 'cosmos') {
    throw invalidConfig(`The host "${host}" is a Cosmos DB for PostgreSQL cluster, which never uses user@server names.`, "Remove serverType 'single'.")
  }

  const entra = options.entra !== undefined
  const userSetting = get('user', 'user', 'PGUSER')
  if ((userSetting === undefined || userSetting.value === '') && !entra) {
    throw invalidConfig('No user name is configured.', 'Set user (or PGUSER, or the connection string\'s user) to the server\'s login name.')
  }
  const user = userSetting === undefined || userSetting.value === '' ? undefined : azureLoginName({ user: userSetting.value, serverName, serverType, host })

  const passwordSetting: Setting | undefined = options.password !== undefined ? { value: '', origin: 'option "password"' } : get(undefined, 'password', 'PGPASSWORD')
  if (entra && passwordSetting !== undefined) {
    throw invalidConfig(`A password (${passwordSetting.origin}) is set together with entra, so it is unclear which to send.`,
      'Remove the password: with entra, the Entra ID token is the password.')
  }
  const password: PasswordSource | undefined = options.password ?? passwordSetting?.value
  // libpq's default database is the user name (on Single Server, the name before the suffix). Entra
  // principal names (UPNs, managed identities) are never database names: those default to Azure's "postgres".
  const database = get('database', 'dbname', 'PGDATABASE')?.value ?? (entra ? undefined : userSetting?.value) ?? 'postgres'

  const pgExtras: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!OWN_KEYS.has(key) && value !== undefined) pgExtras[key] = value
  }
  const extras: ReadonlyArray<[keyof AzurePgOptions, string, string]> = [
    ['application_name', 'application_name', 'PGAPPNAME'],
    ['fallback_application_name', 'fallback_application_name', ''],
    ['options', 'options', 'PGOPTIONS'],
    ['client_encoding', 'client_encoding', 'PGCLIENTENCODING'],
  ]
  for (const [o, s, e] of extras) {
    const v = get(o, s, e === '' ? undefined : e)
    if (v !== undefined) pgExtras[o] = v.value
  }
  if (options.connectionTimeoutMillis !== undefined) pgExtras['connectionTimeoutMillis'] = options.connectionTimeoutMillis
  else {
    const t = get(undefined, 'connect_timeout', 'PGCONNECT_TIMEOUT')
    if (t !== undefined) pgExtras['connectionTimeoutMillis'] = parseSeconds(t)
  }

  return {
    host,
    connectHost: hostaddrSetting?.value ?? host,
    port,
    database,
    user,
    password,
    entraScope: entra ? options.entraScope ?? entraScopeFor(azure) : undefined,
    serverType,
    serverName,
    azure,
    tls,
    pgExtras,
    warnings,
  }
}
