import { invalidConfig } from '../errors.js'
import { defaultLogger } from '../log.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, type AzureHostInfo, type AzurePgOptions, type LearnMode, type LoadBalanceHosts, type Logger, type PasswordSource, type ServerType, type TargetSessionAttrs, type TokenCredential } from '../options.js'
import { decideAuth, type AuthPolicy } from './auth-policy.js'
import { azureLoginName, classifyAzureHost, entraScopeFor } from './azure-host.js'
import { resolveCertsSettings, type CertsSettings } from './certs-settings.js'
import { parseConnectionString, type ParsedConnectionString } from './connection-string.js'
import { chooseEnvServer, hostSourcesLooked, type EnvServerSource } from './env-source.js'
import { pairHostList } from './host-list.js'
import { checkedOption, field, firstSet, MAX_LIMIT_MS, OPTION_KEYS, optionValue } from './fields.js'
import { isTruthy, type Setting } from './setting.js'
import { readSslOption } from './ssl-options.js'
import { readLoadBalanceHosts, readTargetSessionAttrs } from './target-session.js'
import { decideTls, type TlsDecision } from './tls-policy.js'

type Env = Readonly<Record<string, string | undefined>>

/** Entra ID sign-in, as resolved: which credential (undefined: `DefaultAzureCredential`) and scope. */
export interface EntraSettings {
  readonly credential: TokenCredential | undefined
  readonly scope: string
  /** For `DefaultAzureCredential`: the user-assigned managed identity to use (`AZURE_POSTGRESQL_CLIENTID`). */
  readonly managedIdentityClientId: string | undefined
}

/**
 * One server of a host list, as libpq pairs `host`, `hostaddr` and `port` by position: verified against its
 * own name, and logged in to with its own Azure login name (Single Server's `user@server` differs per server).
 */
export interface HostTarget {
  /** The server's name: what its certificate is checked against (SNI too). */
  readonly host: string
  /** Where the socket goes: the paired `hostaddr` if given, else `host`. */
  readonly connectHost: string
  readonly port: number
  /** The user name as sent to this server (Azure naming applied); undefined only with Entra. */
  readonly user: string | undefined
  /** The TLS server name (SNI and the identity check): `host`, or undefined when `host` is an IP literal (checked against IP SANs). */
  readonly servername: string | undefined
  readonly serverName: string | undefined
  readonly azure: AzureHostInfo | undefined
}

/**
 * The merged, validated configuration: the only thing later steps look at. Nothing downstream of
 * `config/` reads options or the environment; everything they need is here, frozen.
 */
export interface Settings {
  /** The server's name: what the certificate is checked against. */
  readonly host: string
  /** Where the socket goes: `hostaddr` if given, else `host`. */
  readonly connectHost: string
  readonly port: number
  readonly database: string
  /** The user name as it will be sent (Azure naming applied); undefined only with Entra, to be taken from the token. */
  readonly user: string | undefined
  readonly password: PasswordSource | undefined
  /** With Entra ID sign-in: the credential and token scope. */
  readonly entra: EntraSettings | undefined
  readonly serverType: ServerType
  readonly serverName: string | undefined
  readonly azure: AzureHostInfo | undefined
  readonly tls: TlsDecision
  /**
   * Every server to try, in the order given (at least one). `hosts[0]` is the server the single-host fields
   * above (`host`, `connectHost`, `port`, `user`, `serverName`, `azure`) describe.
   */
  readonly hosts: readonly HostTarget[]
  /** Which server of `hosts` a connection may settle on. */
  readonly targetSessionAttrs: TargetSessionAttrs
  /** Whether `hosts` is tried in order or shuffled per connection. */
  readonly loadBalanceHosts: LoadBalanceHosts
  /** What the server's authentication requests must be: channel_binding and require_auth. */
  readonly auth: AuthPolicy
  /** Where Azure's roots come from. */
  readonly certs: CertsSettings
  /** What is learned per server, and where it is kept. */
  readonly learn: LearnMode
  readonly logger: Logger
  readonly now: () => Date
  /** Other pg settings: from options as given, and libpq keys from the string or environment. */
  readonly pgExtras: Readonly<Record<string, unknown>>
  /** Things worth telling the user that did not stop the connection. */
  readonly warnings: readonly string[]
}

/** A connection string in play: the connectionString option, or one from the environment. */
interface StringSource {
  readonly parsed: ParsedConnectionString
  /** How a key of it is named in messages. */
  readonly origin: (key: string) => string
}

/** Where fields are looked up, in precedence order. */
interface Sources {
  readonly options: AzurePgOptions
  readonly strings: readonly StringSource[]
  readonly env: Env
  readonly envServer: EnvServerSource
}

/** A setting and the canonical key or variable that gave it. */
type Found = Setting & { readonly key: string }

/**
 * Looks a field up in its precedence: explicit option > connectionString option > a connection string
 * from the environment > environment variable, through the one table in fields.ts. Variables that
 * describe the server are read only from the environment source chosen by chooseEnvServer.
 */
function lookup(src: Sources, name: string): Found | undefined {
  const spec = field(name)
  if (spec.option !== undefined) {
    const v = optionValue(src.options, spec.option)
    // null means unset, as in pg; any other value must have the field's type.
    if (v !== undefined && v !== null) return { value: checkedOption(spec.option, spec.kind, v), origin: `option "${spec.option}"`, source: 'option', key: spec.option }
  }
  for (const s of src.strings) {
    for (const key of spec.stringKeys ?? []) {
      const p = Object.hasOwn(s.parsed.params, key) ? s.parsed.params[key] : undefined
      if (p !== undefined) return { value: p.value, origin: s.origin(p.key), source: 'string', key }
    }
  }
  const names = [
    ...(spec.describesServer === true && src.envServer.kind !== 'pg' ? [] : spec.env ?? []),
    ...(spec.serviceConnector !== undefined && src.envServer.kind === 'service-connector' ? [spec.serviceConnector] : []),
  ]
  const e = firstSet(names, src.env)
  if (e !== undefined) return { value: e.value, origin: `environment variable ${e.name}`, source: 'env', key: e.name }
  return undefined
}

function parseSeconds(s: Setting): number {
  const n = Number(s.value)
  if (!Number.isFinite(n) || n < 0 || n * 1000 > MAX_LIMIT_MS) {
    throw invalidConfig(`connect_timeout (from ${s.origin}) is not a number of seconds (0 to ${Math.floor(MAX_LIMIT_MS / 1000)}).`, 'Use a whole number of seconds, for example connect_timeout=10.')
  }
  return n * 1000
}

/**
 * The boolean spellings of sslmode: node-postgres' and JDBC's `ssl=true|false` in a string (libpq's
 * `sslmode` in the same string wins, as the key order in fields.ts says), and Service Connector's
 * `AZURE_POSTGRESQL_SSL`. True means `require` (then raised to verify-full), false means `disable` (refused).
 */
function sslModeSetting(found: Found | undefined): Setting | undefined {
  if (found === undefined || (found.key !== 'ssl' && found.key !== field('sslmode').serviceConnector)) return found
  const v = found.value.trim().toLowerCase()
  if (isTruthy(v)) return { ...found, value: 'require' }
  if (['false', '0', 'no', 'off'].includes(v)) return { ...found, value: 'disable' }
  throw invalidConfig(`${found.origin} is neither true nor false.`, 'Set it to true, or use sslmode=verify-full.')
}

const LEARN_MODES: readonly LearnMode[] = ['disk', 'memory', 'off']

function learnMode(s: Setting | undefined): LearnMode {
  if (s === undefined) return 'disk'
  const v = s.value.toLowerCase()
  if (!(LEARN_MODES as readonly string[]).includes(v)) throw invalidConfig(`learn (from ${s.origin}) is not "disk", "memory" or "off".`, 'Use learn: "disk" (the default), "memory" or "off".')
  return v as LearnMode
}

/** `entra` is on for `true` or a credential object; `false`, `null`, `0` and `undefined` mean off. */
function entraCredential(value: unknown): { on: false } | { on: true; credential: TokenCredential | undefined } {
  if (value === undefined || value === null || value === false || value === 0) return { on: false }
  if (value === true) return { on: true, credential: undefined }
  if (typeof value === 'object' && typeof (value as { getToken?: unknown }).getToken === 'function') return { on: true, credential: value as TokenCredential }
  throw invalidConfig('entra is neither true nor a TokenCredential (an object with getToken).', 'Pass entra: true for DefaultAzureCredential, or a credential from @azure/identity.')
}

/**
 * Merges options, connection string and environment (in that precedence), applies the TLS policy and
 * Azure naming, and returns the settings to connect with. Pure: the environment is a parameter, and
 * nothing is read from disk or network. Throws `AzurePgError` (`INVALID_CONFIG`, `INSECURE_TLS`,
 * `USER_SERVER_MISMATCH`).
 */
export function resolveSettings(given: AzurePgOptions, env: Env): Settings {
  // Each option is read once, here; everything below uses this copy (a getter cannot answer twice).
  // Own properties, enumerable or not: pg-pool hands clients a copy whose password is non-enumerable.
  // No prototype either: a polluted Object.prototype must not supply an option (ssl, sslrootcert, env, ...).
  const options = Object.create(null) as AzurePgOptions
  for (const key of Object.getOwnPropertyNames(given)) (options as Record<string, unknown>)[key] = (given as Record<string, unknown>)[key]
  const connectionString = options.connectionString
  // parseConnectionString refuses a value that is not a string (null included).
  const parsed = connectionString === undefined ? undefined : parseConnectionString(connectionString)
  const names = (o: unknown, p: ParsedConnectionString | undefined, key: string): boolean => (o !== undefined && o !== null && o !== '') || p?.params[key] !== undefined
  const envServer = chooseEnvServer(names(options.host, parsed, 'host') || names(options.hostaddr, parsed, 'hostaddr'), env)
  const strings: StringSource[] = []
  if (parsed !== undefined) strings.push({ parsed, origin: (key) => `connection string key "${key}"` })
  if (envServer.kind === 'string') strings.push({ parsed: envServer.parsed, origin: (key) => `key "${key}" of environment variable ${envServer.variable}` })
  const warnings: string[] = []
  for (const s of strings) {
    for (const key of s.parsed.unknownKeys) warnings.push(`${s.origin(key)} is not used by azure-pg-tls and was ignored.`)
    const unnamed = s.parsed.unnamedUnknownKeys
    if (unnamed > 0) {
      // Counted, not named: an unknown "key" may be the middle of a mis-quoted password.
      warnings.push(`${unnamed} connection string ${unnamed === 1 ? 'key' : 'keys'} unknown to azure-pg-tls ${unnamed === 1 ? 'was' : 'were'} ignored (not named, in case one is part of a mis-quoted password).`)
    }
  }
  const get = (name: string): Found | undefined => lookup({ options, strings, env, envServer }, name)

  const hostSetting = get('host')
  const hostaddrSetting = get('hostaddr')
  const paired = pairHostList({ host: hostSetting, hostaddr: hostaddrSetting, port: get('port'), looked: hostSourcesLooked() })

  const tlsInput = {
    sslmode: sslModeSetting(get('sslmode')),
    ssl: readSslOption(options.ssl),
    sslrootcert: get('sslrootcert'),
    trustServerCertificate: get('trustservercertificate'),
    sslfactory: get('sslfactory'),
    clientCertificate: get('sslcert') ?? get('sslkey'),
    sslnegotiation: get('sslnegotiation'),
  }
  // Each server is verified against its own name: the policy is decided for every one (a Unix-socket path
  // or an ssl.servername that is not this host's is refused whichever entry it is).
  const tlsPerHost = paired.map((p) => decideTls({ host: p.host, ...tlsInput }))
  const tls = tlsPerHost[0] ?? decideTls({ host: '', ...tlsInput })
  if (tls.strengthened) {
    warnings.push(`sslmode "${tls.requestedMode}" was raised to verify-full: the certificate and host name are always verified.`)
  }

  const serverType = (get('serverType')?.value ?? 'auto') as ServerType
  if (!['auto', 'single', 'flexible'].includes(serverType)) {
    throw invalidConfig('serverType is not \'auto\', \'single\' or \'flexible\'.', "Use serverType 'single' for Single Server (user@server), 'flexible' for Flexible Server.")
  }
  const serverNameSetting = get('serverName')
  const optionServer = serverNameSetting?.value.toLowerCase()
  const hostOrigin = hostSetting?.origin ?? hostaddrSetting?.origin ?? 'the configuration'
  const which = (i: number): string => (paired.length === 1 ? 'the host' : `host ${i + 1} of ${paired.length}`)
  const named = paired.map((p, i) => {
    const azure = classifyAzureHost(p.host)
    if (optionServer !== undefined && azure?.serverName !== undefined && optionServer !== azure.serverName) {
      throw invalidConfig(`serverName (from ${serverNameSetting?.origin ?? 'the configuration'}) differs from the server named in ${which(i)} (from ${hostOrigin}).`, 'Remove serverName: it is only needed for hosts outside Azure\'s DNS names.')
    }
    if (serverType === 'single' && azure?.service === 'cosmos') {
      throw invalidConfig(`${paired.length === 1 ? 'The host' : `Host ${i + 1} of ${paired.length}`} (from ${hostOrigin}) is a Cosmos DB for PostgreSQL cluster, which never uses user@server names.`, "Remove serverType 'single'.")
    }
    return { ...p, azure, serverName: optionServer ?? azure?.serverName, servername: tlsPerHost[i]?.servername }
  })
  const first = named[0]
  if (first === undefined) throw new Error('azure-pg-tls: a host list without hosts')
  const { host, azure, serverName } = first

  const entra = entraCredential(options.entra)
  const userSetting = get('user')
  // Messages name the user and the database: none holds a control or formatting character (a newline, an escape sequence).
  for (const [name, setting] of [['user', userSetting], ['database', get('database')]] as const) {
    if (setting !== undefined && /[\p{Cc}\p{Cf}]/u.test(setting.value)) {
      throw invalidConfig(`The ${name} name (from ${setting.origin}) holds a control or formatting character.`, `Set ${name} to the name as the server knows it, without line breaks or escape sequences.`)
    }
  }
  if ((userSetting === undefined || userSetting.value === '') && !entra.on) {
    throw invalidConfig('No user name is configured.', 'Set user (or PGUSER, AZURE_POSTGRESQL_USER, or the connection string\'s user) to the server\'s login name.')
  }
  // Single Server's login name names the server: each server of the list gets its own (alice@a, alice@b).
  const hosts: HostTarget[] = named.map((h) => Object.freeze({
    host: h.host, connectHost: h.connectHost, port: h.port, servername: h.servername, serverName: h.serverName, azure: h.azure,
    user: userSetting === undefined || userSetting.value === '' ? undefined : azureLoginName({ user: userSetting.value, serverName: h.serverName, serverType, host: h.host }),
  }))
  const user = hosts[0]?.user
  const scopes = new Set(named.map((h) => entraScopeFor(h.azure)))
  if (entra.on && options.entraScope === undefined && scopes.size > 1) {
    throw invalidConfig('The hosts belong to Azure clouds or services whose Entra ID tokens differ (token scopes), and one token serves every host.',
      'List servers of one cloud and service only, or pass entraScope.')
  }

  const passwordOption = options.password
  if (passwordOption !== undefined && passwordOption !== null && typeof passwordOption !== 'string' && typeof passwordOption !== 'function') {
    throw invalidConfig('password is neither a string nor a function.', 'Pass the password as a string, or a function returning one.')
  }
  const passwordSetting: Setting | undefined = passwordOption !== undefined && passwordOption !== null
    ? { value: '', origin: 'option "password"', source: 'option' }
    : get('password')
  if (entra.on && passwordSetting !== undefined) {
    throw invalidConfig(`A password (${passwordSetting.origin}) is set together with entra, so it is unclear which to send.`,
      'Remove the password: with entra, the Entra ID token is the password.')
  }
  const password: PasswordSource | undefined = passwordOption ?? passwordSetting?.value
  // pg's own spelling of channel_binding, read here so that it can neither contradict nor silently weaken it.
  const enableChannelBinding: unknown = options.enableChannelBinding
  if (enableChannelBinding !== undefined && enableChannelBinding !== null && typeof enableChannelBinding !== 'boolean') {
    throw invalidConfig('option "enableChannelBinding" is not true or false.', 'Use channel_binding: \'require\', \'prefer\' or \'disable\' instead.')
  }
  const auth = decideAuth({ channelBinding: get('channel_binding'), requireAuth: get('require_auth'), enableChannelBinding: enableChannelBinding ?? undefined, entra: entra.on })
  // libpq's default database is the user name (on Single Server, the name before the suffix). Entra
  // principal names (UPNs, managed identities) are never database names: those default to Azure's "postgres".
  const database = get('database')?.value ?? (entra.on ? undefined : userSetting?.value) ?? 'postgres'

  const pgExtras: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!OPTION_KEYS.has(key) && key !== 'enableChannelBinding' && value !== undefined) pgExtras[key] = value
  }
  for (const name of ['application_name', 'fallback_application_name', 'options', 'client_encoding']) {
    const v = get(name)
    if (v !== undefined) pgExtras[name] = v.value
  }
  // A connection that never completes must not hang the application: 30 s unless set (0: no limit).
  const timeout = get('connect_timeout')
  pgExtras['connectionTimeoutMillis'] = timeout === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : timeout.source === 'option' ? Number(timeout.value) : parseSeconds(timeout)

  const settings: Settings = {
    host,
    connectHost: first.connectHost,
    port: first.port,
    database,
    user,
    password,
    entra: entra.on
      ? Object.freeze({ credential: entra.credential, scope: options.entraScope ?? entraScopeFor(azure), managedIdentityClientId: entra.credential === undefined ? get('managedIdentityClientId')?.value : undefined })
      : undefined,
    serverType,
    serverName,
    azure,
    tls: Object.freeze(tls),
    hosts: Object.freeze(hosts),
    targetSessionAttrs: readTargetSessionAttrs(get('target_session_attrs')),
    loadBalanceHosts: readLoadBalanceHosts(get('load_balance_hosts')),
    auth,
    certs: Object.freeze(resolveCertsSettings(options.certs, env)),
    learn: learnMode(get('learn')),
    logger: options.logger ?? defaultLogger(env),
    now: options.now ?? (() => new Date()),
    pgExtras: Object.freeze(pgExtras),
    warnings: Object.freeze(warnings),
  }
  return Object.freeze(settings)
}

/**
 * {@link resolveSettings} with the environment the options name, or the process's own. The only
 * place the SDK reads `process.env`.
 */
export function resolveOptions(options: AzurePgOptions = {}): Settings {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidConfig('The options are not an object.', 'Pass an options object (or nothing, to read PG* and AZURE_POSTGRESQL_* variables).')
  }
  const env = Object.hasOwn(options, 'env') ? options.env : undefined
  if (env !== undefined && (typeof env !== 'object' || env === null)) throw invalidConfig('option "env" is not an object of variables.', 'Pass env as an object such as process.env, or leave it unset.')
  return resolveSettings(options, env ?? processEnv())
}

/** The process's environment, for the command line's defaults. */
export function processEnv(): Env {
  return process.env
}
