// Which keys each form understands, and which unknown keys are common enough to name in a warning.
// A key outside both lists is counted, never named: in a mis-quoted string, what looks like a key
// may be the middle of a password.
import { STRING_KEYS } from '../fields.js'

/** The four shapes a pasted connection string comes in. */
export type ConnectionStringForm = 'uri' | 'keyvalue' | 'adonet' | 'jdbc'

/** What a key means in its form: a canonical (libpq) name, or known to that driver and unused here. */
export type KeyMeaning = { readonly canonical: string } | { readonly unused: string } | undefined

/**
 * pgjdbc property names, exactly as pgjdbc spells them (its properties are case-sensitive). `host`,
 * `port` and `dbname` in any case reach pgjdbc's PGHOST/PGPORT/PGDBNAME through its service-key
 * translation, handled in {@link meaningOf}.
 */
const JDBC_KEYS: Readonly<Record<string, string>> = {
  user: 'user', password: 'password',
  PGHOST: 'host', PGPORT: 'port', PGDBNAME: 'dbname',
  ssl: 'ssl', sslmode: 'sslmode', sslrootcert: 'sslrootcert', sslcert: 'sslcert', sslkey: 'sslkey',
  sslpassword: 'sslpassword', sslfactory: 'sslfactory', sslNegotiation: 'sslnegotiation',
  ApplicationName: 'application_name', connectTimeout: 'connect_timeout', loginTimeout: 'connect_timeout',
  options: 'options', channelBinding: 'channel_binding',
  targetServerType: 'target_session_attrs', loadBalanceHosts: 'load_balance_hosts',
  // libpq's spellings, which pgjdbc would ignore: honoured, since a security or server-choice setting
  // that is written must never be dropped.
  channel_binding: 'channel_binding', require_auth: 'require_auth',
  target_session_attrs: 'target_session_attrs', load_balance_hosts: 'load_balance_hosts',
}

/**
 * Npgsql keywords and synonyms, upper-cased as Npgsql compares them (spaces kept: `SSL MODE` and
 * `SSLMODE` are both keywords, `S SL MODE` is not).
 */
const ADONET_KEYS: Readonly<Record<string, string>> = {
  HOST: 'host', SERVER: 'host',
  PORT: 'port',
  DATABASE: 'dbname', DB: 'dbname',
  USERNAME: 'user', 'USER NAME': 'user', USERID: 'user', 'USER ID': 'user', UID: 'user', USER: 'user',
  PASSWORD: 'password', PWD: 'password', PSW: 'password',
  'SSL MODE': 'sslmode', SSLMODE: 'sslmode',
  'SSL NEGOTIATION': 'sslnegotiation', SSLNEGOTIATION: 'sslnegotiation',
  'TRUST SERVER CERTIFICATE': 'trustservercertificate', TRUSTSERVERCERTIFICATE: 'trustservercertificate',
  'ROOT CERTIFICATE': 'sslrootcert', ROOTCERTIFICATE: 'sslrootcert',
  'SSL CERTIFICATE': 'sslcert', SSLCERTIFICATE: 'sslcert',
  'SSL KEY': 'sslkey', SSLKEY: 'sslkey',
  'SSL PASSWORD': 'sslpassword', SSLPASSWORD: 'sslpassword',
  'APPLICATION NAME': 'application_name', APPLICATIONNAME: 'application_name',
  TIMEOUT: 'connect_timeout',
  OPTIONS: 'options',
  'CLIENT ENCODING': 'client_encoding', CLIENTENCODING: 'client_encoding', ENCODING: 'client_encoding',
  'CHANNEL BINDING': 'channel_binding', CHANNELBINDING: 'channel_binding',
  'REQUIRE AUTH': 'require_auth', REQUIREAUTH: 'require_auth',
  'TARGET SESSION ATTRIBUTES': 'target_session_attrs', TARGETSESSIONATTRIBUTES: 'target_session_attrs',
  'LOAD BALANCE HOSTS': 'load_balance_hosts', LOADBALANCEHOSTS: 'load_balance_hosts',
}

/** Npgsql keywords that are understood and deliberately unused (no warning of being unknown). */
const ADONET_UNUSED: Readonly<Record<string, string>> = {
  'COMMAND TIMEOUT': 'Command Timeout', COMMANDTIMEOUT: 'Command Timeout',
}

/**
 * Well-known keys of libpq, node-postgres, pgjdbc and Npgsql that azure-pg-tls does not use. They are
 * named in the "ignored" warning; any other unknown key is only counted.
 */
const WELL_KNOWN = [
  // libpq
  'keepalives', 'keepalives_idle', 'keepalives_interval', 'keepalives_count', 'tcp_user_timeout',
  'sslcompression', 'sslsni', 'sslcertmode', 'sslkeylogfile',
  'ssl_min_protocol_version', 'ssl_max_protocol_version', 'gssencmode', 'gsslib', 'gssdelegation', 'krbsrvname',
  'requirepeer', 'replication', 'passfile', 'min_protocol_version', 'max_protocol_version',
  // pgjdbc
  'socketTimeout', 'currentSchema', 'prepareThreshold', 'tcpKeepAlive', 'reWriteBatchedInserts',
  'gssEncMode', 'sslhostnameverifier', 'sslfactoryarg', 'sslResponseTimeout', 'stringtype', 'readOnly',
  'defaultRowFetchSize', 'binaryTransfer', 'assumeMinServerVersion', 'cancelSignalTimeout', 'preferQueryMode',
  // node-postgres
  'schema', 'statement_timeout', 'query_timeout', 'idle_in_transaction_session_timeout', 'lock_timeout',
  // Npgsql
  'Pooling', 'Minimum Pool Size', 'Maximum Pool Size', 'Connection Idle Lifetime', 'Connection Pruning Interval',
  'Connection Lifetime', 'Cancellation Timeout', 'Keepalive', 'TCP Keepalive', 'TCP Keepalive Time', 'TCP Keepalive Interval',
  'Search Path', 'Enlist', 'Timezone', 'Include Error Detail',
  'GSS Encryption Mode', 'Kerberos Service Name', 'Persist Security Info', 'Max Auto Prepare',
  'Auto Prepare Min Usages', 'No Reset On Close', 'Multiplexing', 'Server Compatibility Mode', 'Check Certificate Revocation',
  'Include Realm', 'Log Parameters', 'Read Buffer Size', 'Write Buffer Size', 'Host Recheck Seconds',
]
const fold = (key: string): string => key.toLowerCase().replace(/[\s_]+/g, '')
const WELL_KNOWN_EXACT = new Set(WELL_KNOWN)
const WELL_KNOWN_BY_FOLD = new Map<string, string>()
for (const k of WELL_KNOWN) if (!WELL_KNOWN_BY_FOLD.has(fold(k))) WELL_KNOWN_BY_FOLD.set(fold(k), k)

/**
 * What `key` means in `form`: libpq keys are case-sensitive (as libpq compares them), pgjdbc's too,
 * Npgsql's are compared upper-cased.
 */
export function meaningOf(form: ConnectionStringForm, key: string): KeyMeaning {
  if (form === 'adonet') {
    const upper = key.toUpperCase()
    const canonical = ADONET_KEYS[upper]
    if (canonical !== undefined) return { canonical }
    const unused = ADONET_UNUSED[upper]
    return unused === undefined ? undefined : { unused }
  }
  if (form === 'jdbc') {
    const translated = ['HOST', 'PORT', 'DBNAME'].includes(key.toUpperCase()) ? `PG${key.toUpperCase()}` : key
    const canonical = Object.hasOwn(JDBC_KEYS, translated) ? JDBC_KEYS[translated] : undefined
    return canonical === undefined ? undefined : { canonical }
  }
  if (key === 'requiressl') return { canonical: 'sslmode' }
  return STRING_KEYS.has(key) ? { canonical: key } : undefined
}

/** The well-known spelling of an unknown key, when it is on the short list; otherwise undefined. */
export function wellKnownName(key: string): string | undefined {
  return WELL_KNOWN_EXACT.has(key) ? key : WELL_KNOWN_BY_FOLD.get(fold(key))
}

/**
 * How a message may refer to a key: by name when the key is one the SDK or the short list knows
 * (such a name is not a secret), otherwise only as "an unknown key".
 */
export function keyLabel(form: ConnectionStringForm, key: string | undefined): string {
  if (key === undefined) return 'the first key'
  const meaning = meaningOf(form, key)
  if (meaning !== undefined) return `key "${'canonical' in meaning ? key.trim() : meaning.unused}"`
  const known = wellKnownName(key)
  return known === undefined ? 'an unknown key' : `key "${known}"`
}

/**
 * Where in the string a message points: "at the start", or after the value of the key before it
 * (named as {@link keyLabel} allows).
 */
export function positionAfter(form: ConnectionStringForm, previous: string | undefined): string {
  return previous === undefined ? 'at the start' : `after the value of ${keyLabel(form, previous)}`
}

/**
 * Whether an unknown key looks like a keyword at all. Keys with other characters (`;`, `/`, `@`,
 * quotes) are fragments of a mis-quoted value, so the string is refused rather than half-read.
 */
export function isKeywordShaped(key: string): boolean {
  return /^[A-Za-z][A-Za-z0-9_. -]{0,63}$/.test(key)
}
