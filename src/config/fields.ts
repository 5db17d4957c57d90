// The one table of configurable fields: for each, the option that sets it, the connection-string
// keys and environment variables that can stand in for it, and its default. Precedence is always
// option → connection string → environment → default. Variables that describe a server (PGHOST,
// PGUSER, ..., Azure Service Connector's AZURE_POSTGRESQL_*, a connection string in DATABASE_URL) are
// read from one environment source only, so two servers' fields are never mixed (see resolve.ts). The resolver reads settings through this
// table, the connection-string parser learns from it which keys exist (every other key is
// reported as ignored), and the README's options table is checked against it by a test.
import { invalidConfig } from '../errors.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, type AzurePgOptions } from '../options.js'

/** One configurable field. */
export interface FieldSpec {
  /** The field's name in this table (and in messages). */
  readonly name: string
  /** The option that sets it (`certs.mirror` for a nested one); none for string-only keys. */
  readonly option?: string
  /** The libpq-named connection-string keys that carry it (ADO.NET and JDBC synonyms map to these). */
  readonly stringKeys?: readonly string[]
  /** Environment variables read when neither the option nor the string sets it, first one wins. */
  readonly env?: readonly string[]
  /**
   * The `env` variables name the server (host, port, database, user, password): they are read only when
   * the PG* variables are the environment's chosen server description, never beside another one.
   */
  readonly describesServer?: true
  /** Azure Service Connector's variable for the field, read when `AZURE_POSTGRESQL_HOST` names the server. */
  readonly serviceConnector?: string
  /** What applies when nothing sets it, as the README shows it. */
  readonly default?: string
  /** One line for the README. */
  readonly doc: string
  /**
   * What an option value must be: text (a string), hosts (a string, or an array of strings without commas),
   * ports (a string or integer, or an array of them), a count (number ≥ 0), a flag (boolean); checked by the resolver.
   */
  readonly kind?: 'text' | 'hosts' | 'ports' | 'count' | 'flag'
}

/** The rows of {@link FIELDS}. */
const ROWS: readonly FieldSpec[] = [
  { name: 'connectionString', option: 'connectionString', env: ['AZURE_POSTGRESQL_CONNECTIONSTRING', 'DATABASE_URL'], doc: 'URI, `key=value`, ADO.NET or JDBC connection string; from the environment, only when no option or other variable names a host.' },
  { name: 'host', kind: 'hosts', option: 'host', stringKeys: ['host'], env: ['PGHOST'], describesServer: true, serviceConnector: 'AZURE_POSTGRESQL_HOST', doc: 'Server name; the certificate is checked against it. Several servers, tried in order: an array or a comma list (at most 16), each verified against its own name.' },
  { name: 'hostaddr', kind: 'hosts', option: 'hostaddr', stringKeys: ['hostaddr'], env: ['PGHOSTADDR'], doc: 'IP address to connect to instead of resolving `host` (private endpoints); with several hosts, one per host by position (an empty entry: look the host up).' },
  { name: 'port', kind: 'ports', option: 'port', stringKeys: ['port'], env: ['PGPORT'], describesServer: true, serviceConnector: 'AZURE_POSTGRESQL_PORT', default: '5432', doc: 'TCP port (6432 for PgBouncer); with several hosts, one for all or one per host (an empty entry: 5432).' },
  { name: 'database', kind: 'text', option: 'database', stringKeys: ['dbname'], env: ['PGDATABASE'], describesServer: true, serviceConnector: 'AZURE_POSTGRESQL_DATABASE', default: 'the user name (Entra: `postgres`)', doc: 'Database name.' },
  { name: 'user', kind: 'text', option: 'user', stringKeys: ['user'], env: ['PGUSER'], describesServer: true, serviceConnector: 'AZURE_POSTGRESQL_USER', default: 'with Entra, the token\'s', doc: 'Login name; Azure naming is applied to it.' },
  { name: 'password', option: 'password', stringKeys: ['password'], env: ['PGPASSWORD'], describesServer: true, serviceConnector: 'AZURE_POSTGRESQL_PASSWORD', doc: 'Password, or a function returning one for each new connection.' },
  { name: 'sslmode', kind: 'text', option: 'sslmode', stringKeys: ['sslmode', 'ssl'], env: ['PGSSLMODE'], serviceConnector: 'AZURE_POSTGRESQL_SSL', default: '`verify-full`', doc: '`require` and `verify-ca` are raised to verify-full; weaker modes are refused. `AZURE_POSTGRESQL_SSL=true` is `require`, `false` is refused.' },
  { name: 'sslrootcert', kind: 'text', option: 'sslrootcert', stringKeys: ['sslrootcert'], env: ['PGSSLROOTCERT'], default: 'Azure\'s roots', doc: 'PEM file of roots to trust instead, or `system`.' },
  { name: 'sslnegotiation', kind: 'text', option: 'sslnegotiation', stringKeys: ['sslnegotiation'], env: ['PGSSLNEGOTIATION'], default: '`auto`', doc: '`auto` learns per server whether PostgreSQL 17+ direct TLS works (one round trip fewer); `postgres` never tries it, `direct` always.' },
  { name: 'channel_binding', kind: 'text', option: 'channel_binding', stringKeys: ['channel_binding'], env: ['PGCHANNELBINDING'], default: '`prefer`', doc: '`require`: only a SCRAM login bound to the TLS session (SCRAM-SHA-256-PLUS); a server that does not offer it (PgBouncer) or asks for another method is refused before the password is used (`AUTH_METHOD_REFUSED`). `prefer` binds when offered; `disable` never. Npgsql `Channel Binding`, pgjdbc `channelBinding`; pg\'s `enableChannelBinding: false` is `disable`.' },
  { name: 'require_auth', kind: 'text', option: 'require_auth', stringKeys: ['require_auth'], env: ['PGREQUIREAUTH'], default: 'any method', doc: 'libpq 16\'s list of the methods the server may ask for (`password`, `md5`, `scram-sha-256`, `none`), or with `!` the ones it may not; any other request gets nothing (`AUTH_METHOD_REFUSED`). With `entra`, allow `password`. Npgsql `Require Auth`; pgjdbc has none.' },
  { name: 'target_session_attrs', kind: 'text', option: 'target_session_attrs', stringKeys: ['target_session_attrs'], env: ['PGTARGETSESSIONATTRS'], default: '`any`', doc: 'Which server of the host list to settle on, as libpq 16: `any`, `read-write`, `read-only`, `primary`, `standby`, `prefer-standby`. pgjdbc `targetServerType`, Npgsql `Target Session Attributes` are mapped to these.' },
  { name: 'load_balance_hosts', kind: 'text', option: 'load_balance_hosts', stringKeys: ['load_balance_hosts'], env: ['PGLOADBALANCEHOSTS'], default: '`disable`', doc: '`disable` tries the hosts in the order given, `random` in a random order per connection (libpq 16). pgjdbc `loadBalanceHosts`, Npgsql `Load Balance Hosts`.' },
  { name: 'learn', kind: 'text', option: 'learn', env: ['AZURE_PG_TLS_LEARN'], default: '`disk`', doc: 'What the SDK learns per server (direct TLS, key-share group): `disk` keeps it a day in the cache folder, `memory` for the process only, `off` learns nothing.' },
  { name: 'ssl', option: 'ssl', doc: 'Node `tls` options; only settings that keep verification are accepted.' },
  { name: 'application_name', kind: 'text', option: 'application_name', stringKeys: ['application_name'], env: ['PGAPPNAME'], doc: 'Shown in `pg_stat_activity`.' },
  { name: 'fallback_application_name', kind: 'text', option: 'fallback_application_name', stringKeys: ['fallback_application_name'], doc: 'Used when no application name is set.' },
  { name: 'options', kind: 'text', option: 'options', stringKeys: ['options'], env: ['PGOPTIONS'], doc: 'Server options sent at startup (`-c key=value`).' },
  { name: 'client_encoding', kind: 'text', option: 'client_encoding', stringKeys: ['client_encoding'], env: ['PGCLIENTENCODING'], doc: 'Client character set.' },
  { name: 'connect_timeout', kind: 'count', option: 'connectionTimeoutMillis', stringKeys: ['connect_timeout'], env: ['PGCONNECT_TIMEOUT'], default: `${DEFAULT_CONNECT_TIMEOUT_MS / 1000} s (0: none)`, doc: 'Connect time limit (TCP, TLS and login): milliseconds as an option, seconds in a string or variable.' },
  { name: 'serverType', kind: 'text', option: 'serverType', env: ['AZURE_PG_TLS_SERVER_TYPE'], default: '`auto`', doc: '`single` sends `user@server`; `flexible` and `auto` send the user as given.' },
  { name: 'serverName', kind: 'text', option: 'serverName', env: ['AZURE_PG_TLS_SERVER_NAME'], default: 'from the host', doc: 'Short server name, for hosts outside Azure\'s DNS names.' },
  { name: 'entra', option: 'entra', doc: '`true` or a `TokenCredential`: the Entra ID token is the password.' },
  { name: 'entraScope', kind: 'text', option: 'entraScope', default: 'the host\'s cloud', doc: 'Entra ID token scope.' },
  { name: 'managedIdentityClientId', kind: 'text', option: 'managedIdentityClientId', env: ['AZURE_POSTGRESQL_CLIENTID'], default: 'system-assigned', doc: 'With `entra: true`: the client ID of the user-assigned managed identity `DefaultAzureCredential` uses.' },
  { name: 'certs.source', kind: 'text', option: 'certs.source', env: ['AZURE_PG_TLS_CERT_SOURCE'], default: '`auto`', doc: '`auto`, `download` (no bundled fallback) or `bundled`.' },
  { name: 'certs.offline', kind: 'flag', option: 'certs.offline', env: ['AZURE_PG_TLS_OFFLINE'], default: 'false', doc: 'Never download: cache, then bundled copy.' },
  { name: 'certs.cacheDir', kind: 'text', option: 'certs.cacheDir', env: ['AZURE_PG_TLS_CACHE_DIR'], default: '`$XDG_CACHE_HOME/azure-pg-tls` or `~/.cache/azure-pg-tls`', doc: 'Certificate cache folder.' },
  { name: 'certs.mirror', kind: 'text', option: 'certs.mirror', env: ['AZURE_PG_TLS_CERT_MIRROR'], doc: 'Base URL of an internal mirror of the roots; `user:pass@` in it is sent as Basic authorization to that origin only.' },
  { name: 'certs.timeoutMs', kind: 'count', option: 'certs.timeoutMs', default: '5000', doc: 'Time limit of one root download, in milliseconds.' },
  { name: 'certs.roots', kind: 'text', option: 'certs.roots', env: ['AZURE_PG_TLS_ROOTS'], default: '`default`', doc: '`default`: Azure\'s PostgreSQL roots; `all`: every current Azure root (with `ssl.minVersion: \'TLSv1.3\'`, Microsoft\'s "best" tier).' },
  { name: 'certs.fetch', option: 'certs.fetch', default: 'node-fetch', doc: 'The fetch function downloads use.' },
  { name: 'logger', option: 'logger', env: ['DEBUG'], default: 'silent unless `DEBUG=azure-pg-tls`', doc: 'Receives warnings.' },
  { name: 'now', option: 'now', default: 'the system clock', doc: 'Clock for root expiry and token refresh.' },
  { name: 'env', option: 'env', default: '`process.env`', doc: 'Where environment variables are read from.' },
  // String-only keys: they carry the TLS intent of other drivers' strings to the policy, which refuses or ignores them.
  { name: 'sslcert', stringKeys: ['sslcert'], env: ['PGSSLCERT'], doc: 'Client certificates are refused: Azure does not support them.' },
  { name: 'sslkey', stringKeys: ['sslkey'], env: ['PGSSLKEY'], doc: 'Refused with sslcert.' },
  { name: 'sslpassword', stringKeys: ['sslpassword'], doc: 'Accepted and unused (no client certificate).' },
  { name: 'sslcrl', stringKeys: ['sslcrl', 'sslcrldir'], doc: 'Accepted and unused.' },
  { name: 'trustservercertificate', stringKeys: ['trustservercertificate'], doc: 'Npgsql\'s `Trust Server Certificate=true` is refused.' },
  { name: 'sslfactory', stringKeys: ['sslfactory'], doc: 'JDBC\'s `NonValidatingFactory` is refused.' },
]

/**
 * Every field, in the order the README lists them. Rows have no prototype and are frozen: an optional
 * column left out (`env`, `stringKeys`) must not be found on a polluted Object.prototype.
 */
export const FIELDS: readonly FieldSpec[] = Object.freeze(ROWS.map((row) => Object.freeze(Object.assign(Object.create(null) as FieldSpec, row))))

/** Every connection-string key (libpq names) the SDK understands; others are reported as ignored. */
export const STRING_KEYS: ReadonlySet<string> = new Set(FIELDS.flatMap((f) => f.stringKeys ?? []))

/** Option keys this table covers; every other option is passed to pg as given. */
export const OPTION_KEYS: ReadonlySet<string> = new Set(FIELDS.flatMap((f) => (f.option === undefined ? [] : [f.option.split('.')[0] ?? f.option])))

const byName = new Map(FIELDS.map((f) => [f.name, f]))

/** The table row of a field; throws on a name that is not in the table (a programming error). */
export function field(name: string): FieldSpec {
  const f = byName.get(name)
  if (f === undefined) throw new Error(`azure-pg-tls: no field "${name}"`)
  return f
}

/** The raw value of an option by its (possibly dotted) path. */
export function optionValue(options: AzurePgOptions, path: string): unknown {
  let v: unknown = options
  for (const part of path.split('.')) {
    // Own properties only: an inherited (polluted) value is not an option.
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, part)) return undefined
    v = (v as Record<string, unknown>)[part]
  }
  return v
}

/** The README's options table, generated from {@link FIELDS}. */
export function fieldsTable(): string {
  const code = (s: string): string => `\`${s}\``
  const rows = FIELDS.map((f) => [
    f.option === undefined ? '–' : code(f.option),
    (f.stringKeys ?? []).map(code).join(', ') || '–',
    [...(f.env ?? []), ...(f.serviceConnector === undefined ? [] : [f.serviceConnector])].map(code).join(', ') || '–',
    f.default ?? '–',
    f.doc,
  ])
  return [
    '| option | connection-string key | environment | default | meaning |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

/** The first non-empty variable among `names`, with its name. */
export function firstSet(names: readonly string[], env: Readonly<Record<string, string | undefined>>): { name: string; value: string } | undefined {
  for (const name of names) {
    // Own variables only: a polluted Object.prototype is not an environment variable.
    const value = Object.hasOwn(env, name) ? env[name] : undefined
    if (value !== undefined && value !== '') return { name, value }
  }
  return undefined
}

/** The longest time limit a Node timer can hold (2^31 − 1 ms, about 24.8 days); a longer one fires at once. */
export const MAX_LIMIT_MS = 2_147_483_647

const KIND_WORDS = {
  text: 'a string', hosts: 'a string or an array of strings', ports: 'a port number, or an array of them',
  count: `a number of milliseconds (0 to ${MAX_LIMIT_MS})`, flag: 'true or false',
} as const

const isPort = (v: unknown): boolean => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v))

/**
 * An option value of the right type, as text (a list as libpq's comma list); `INVALID_CONFIG` naming the
 * option (never its value) otherwise. A list entry holding a comma is refused: it would be read as two.
 */
export function checkedOption(option: string, kind: FieldSpec['kind'], v: unknown): string {
  if ((kind === 'hosts' || kind === 'ports') && Array.isArray(v)) {
    const entries: unknown[] = v
    const each = kind === 'hosts' ? (e: unknown): boolean => typeof e === 'string' : isPort
    if (!entries.every((e) => each(e) && !String(e).includes(','))) {
      throw invalidConfig(`option "${option}" is an array with an entry that is not ${kind === 'hosts' ? 'a string' : 'a port number'}, or holds a comma.`,
        `Pass ${option} as an array with one ${kind === 'hosts' ? 'name' : 'port'} per entry.`)
    }
    return entries.map(String).join(',')
  }
  const ok = kind === undefined ? true
    : kind === 'text' || kind === 'hosts' ? typeof v === 'string'
      : kind === 'ports' ? isPort(v)
        : kind === 'count' ? typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_LIMIT_MS
          : typeof v === 'boolean'
  if (!ok) throw invalidConfig(`option "${option}" is not ${KIND_WORDS[kind ?? 'text']}.`, `Pass ${option} as ${KIND_WORDS[kind ?? 'text']}, or leave it unset.`)
  return String(v)
}
