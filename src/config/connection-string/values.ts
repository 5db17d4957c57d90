// Values other drivers spell their own way, turned into libpq's spelling as the string is read, so that
// everything past the parser sees libpq's values only: pgjdbc's targetServerType and loadBalanceHosts,
// Npgsql's Target Session Attributes, Load Balance Hosts and Require Auth. A value with no libpq
// equivalent is refused here, by key: never silently widened, never echoed.
import { reject } from './grammar.js'
import { keyLabel, type ConnectionStringForm } from './vocabulary.js'

/**
 * pgjdbc's targetServerType (HostRequirement, case-sensitive; `master` and `slave` are its old names). pgjdbc
 * calls a server primary when it is not in hot standby and `transaction_read_only` is off: libpq's
 * `read-write`; secondary is the rest: libpq's `read-only`. `preferSecondary` is libpq's `prefer-standby`
 * (for Azure's replicas, which are standbys, the same server). `preferPrimary` has no libpq equivalent.
 */
const JDBC_TARGET: Readonly<Record<string, string | undefined>> = {
  any: 'any',
  primary: 'read-write', master: 'read-write',
  secondary: 'read-only', slave: 'read-only',
  preferSecondary: 'prefer-standby', preferSlave: 'prefer-standby',
  preferPrimary: undefined, preferMaster: undefined,
}

/** Npgsql's Target Session Attributes (read lower-cased, as Npgsql does); `prefer-primary` has no libpq equivalent. */
const NPGSQL_TARGET: Readonly<Record<string, string | undefined>> = {
  any: 'any', primary: 'primary', standby: 'standby', 'prefer-standby': 'prefer-standby',
  'read-write': 'read-write', 'read-only': 'read-only', 'prefer-primary': undefined,
}

/** Npgsql's RequireAuthMode names (case-sensitive, as Enum.TryParse reads them) → libpq's require_auth names. */
const NPGSQL_AUTH: Readonly<Record<string, string>> = {
  Password: 'password', MD5: 'md5', GSS: 'gss', SSPI: 'sspi', ScramSHA256: 'scram-sha-256', None: 'none',
}

const TARGET_HINT = 'Use any, primary, standby, prefer-standby, read-write or read-only (libpq\'s target_session_attrs; pgjdbc: any, primary, secondary, preferSecondary). libpq has no prefer-primary: list the primary first with any, or require it with read-write.'

/** The libpq spelling of a value written under `key` in `form`; the value itself when the key already is libpq's. */
export function libpqValue(form: ConnectionStringForm, key: string, canonical: string, value: string): string {
  const where = `the value of ${keyLabel(form, key)}`
  if (form === 'jdbc' && key === 'targetServerType') {
    if (!Object.hasOwn(JDBC_TARGET, value)) reject(`${where} is not a pgjdbc targetServerType`, TARGET_HINT)
    return JDBC_TARGET[value] ?? reject(`${where} asks for a preferred primary, which libpq's target_session_attrs cannot express`, TARGET_HINT)
  }
  if (form === 'jdbc' && key === 'loadBalanceHosts') return trueOrFalse(value, where)
  if (form !== 'adonet') return value
  if (canonical === 'target_session_attrs') {
    const v = value.toLowerCase()
    if (!Object.hasOwn(NPGSQL_TARGET, v)) reject(`${where} is not an Npgsql Target Session Attributes value`, TARGET_HINT)
    return NPGSQL_TARGET[v] ?? reject(`${where} asks for a preferred primary, which libpq's target_session_attrs cannot express`, TARGET_HINT)
  }
  if (canonical === 'load_balance_hosts') return trueOrFalse(value.trim(), where)
  if (canonical === 'require_auth') return npgsqlRequireAuth(value, where)
  return value
}

/** pgjdbc's and Npgsql's boolean load balancing, in any case: `true` is libpq's `random`, `false` its `disable`. */
function trueOrFalse(value: string, where: string): string {
  const v = value.toLowerCase()
  if (v === 'true') return 'random'
  if (v === 'false') return 'disable'
  return reject(`${where} is neither true nor false`, 'Write true to spread connections over the hosts at random, or false to try them in order.')
}

/**
 * Npgsql's Require Auth: comma-separated RequireAuthMode names, each trimmed, empty entries dropped, all or
 * none negated with `!`. Rewritten element by element into libpq's names; the libpq reader then applies
 * libpq's rules (mixing, repeats). Anything but Npgsql's exact names is refused.
 */
function npgsqlRequireAuth(value: string, where: string): string {
  const entries = value.split(',').map((e) => e.trim()).filter((e) => e !== '')
  return entries.map((entry, i) => {
    const negated = entry.startsWith('!')
    const name = negated ? entry.slice(1).trim() : entry
    const libpq = Object.hasOwn(NPGSQL_AUTH, name) ? NPGSQL_AUTH[name] : undefined
    if (libpq === undefined) {
      reject(`element ${i + 1} of ${where} is not one of Npgsql's Require Auth names`, 'Use Password, MD5, GSS, SSPI, ScramSHA256 or None (Npgsql\'s names, in that case), separated by commas, each negated with "!" or none of them.')
    }
    return negated ? `!${libpq}` : libpq
  }).join(',')
}
