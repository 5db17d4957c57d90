// The connection-string parser: finds which form a string is in by trying the grammars, and reduces
// it to libpq-named parameters. The grammars live in connection-string/, one per form.
import { isIP } from 'node:net'
import { invalidConfig } from '../errors.js'
import { isHostOrAddress } from './azure-host.js'
import { parseAdoNet } from './connection-string/adonet.js'
import { GrammarError, reject, type RawPair } from './connection-string/grammar.js'
import { JDBC_PREFIX, parseJdbc } from './connection-string/jdbc.js'
import { parseKeyValue } from './connection-string/keyvalue.js'
import { parseUri, URI_PREFIXES } from './connection-string/uri.js'
import { isKeywordShaped, keyLabel, meaningOf, positionAfter, wellKnownName, type ConnectionStringForm } from './connection-string/vocabulary.js'

export type { ConnectionStringForm } from './connection-string/vocabulary.js'

/** One parameter as found in the string: its value, and the (known) key as the user wrote it, for messages. */
export interface StringParam {
  readonly value: string
  readonly key: string
}

/** A connection string reduced to libpq-named parameters, whatever form it came in. */
export interface ParsedConnectionString {
  readonly form: ConnectionStringForm
  /** Keyed by canonical (libpq) name: host, hostaddr, port, dbname, user, password, sslmode, ... */
  readonly params: Readonly<Record<string, StringParam>>
  /** Unknown keys that are well-known keys of libpq, pg, pgjdbc or Npgsql, in their usual spelling; the caller warns about them. */
  readonly unknownKeys: readonly string[]
  /** How many other unknown keys the string had: counted, never named, since one may be part of a mis-quoted password. */
  readonly unnamedUnknownKeys: number
}

const GRAMMARS: Readonly<Record<ConnectionStringForm, (text: string) => RawPair[]>> = {
  uri: parseUri, keyvalue: parseKeyValue, adonet: parseAdoNet, jdbc: parseJdbc,
}

const FORM_NAMES: Readonly<Record<ConnectionStringForm, string>> = {
  uri: 'a URI', keyvalue: 'libpq key=value', adonet: 'ADO.NET', jdbc: 'a JDBC URL',
}

const ENCODE_HINT = 'A user name or password holding "@" or "/" must be percent-encoded in a URI (%40, %2F), or libpq reads part of it as the host and port.'

const QUOTING_HINT = "Check the quoting: in key=value strings put a value holding spaces in single quotes; in ADO.NET strings put a value holding ';' in double quotes; in URIs percent-encode it. Or pass the password as the password option."

/**
 * Parses a connection string in any of the forms users paste (libpq URI, libpq `key=value`,
 * ADO.NET/Npgsql, JDBC), each by its own driver's grammar, into canonical libpq parameters. Pure;
 * throws `INVALID_CONFIG` naming the offending key or part, never any text of the string (it may
 * hold a password).
 *
 * URIs and JDBC URLs are known by their prefix. A string without one is read both as libpq
 * `key=value` and as ADO.NET; a reading counts only if its grammar accepts the whole string, every
 * key is keyword-shaped and every host and port is well-formed. Among those, the one that sets
 * settings azure-pg-tls knows and leaves fewest keys unknown wins. A string no grammar accepts is
 * refused, so no fragment of a broken parse can become a host name.
 */
export function parseConnectionString(text: string): ParsedConnectionString {
  if (typeof text !== 'string') throw invalidConfig('connectionString is not a string.', 'Pass the connection string as a string, or leave it unset.')
  const trimmed = text.replace(/^[ \t\r\n\f\v]+|[ \t\r\n\f\v]+$/g, '')
  if (trimmed === '') throw invalidConfig('The connection string is empty.', 'Pass a connection string, or leave connectionString unset.')
  const prefixed = URI_PREFIXES.some((p) => trimmed.startsWith(p)) ? 'uri' : trimmed.startsWith(JDBC_PREFIX) ? 'jdbc' : undefined
  if (prefixed !== undefined) {
    const reading = attempt(prefixed, trimmed)
    if ('failure' in reading) throw invalidConfig(`The connection string is not valid as ${FORM_NAMES[prefixed]}: ${reading.failure.problem}.`, reading.failure.hint)
    return reading.parsed
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(trimmed) || /^jdbc:/i.test(trimmed)) {
    throw invalidConfig('The connection string starts with a scheme azure-pg-tls does not read.',
      'Start a URI with postgresql:// or postgres://, and a JDBC URL with jdbc:postgresql:, in lower case.')
  }
  const readings = (['keyvalue', 'adonet'] as const).map((form) => attempt(form, text))
  const accepted = readings.flatMap((r) => ('parsed' in r ? [r] : []))
  const failed = readings.flatMap((r) => ('failure' in r ? [r] : []))
  const useful = accepted.filter((r) => r.known > 0)
  const pool = useful.length > 0 ? useful : failed.length === 0 ? accepted : []
  const best = pool.sort((a, b) => a.unknown - b.unknown || b.known - a.known)[0]
  if (best !== undefined) return best.parsed
  const reasons = readings.map((r) => `as ${FORM_NAMES[r.form]}, ${'failure' in r ? r.failure.problem : 'it sets nothing azure-pg-tls knows'}`)
  throw invalidConfig(`The connection string is in no form azure-pg-tls reads: ${reasons.join('; ')}.`, QUOTING_HINT)
}

type Reading =
  | { readonly form: ConnectionStringForm; readonly parsed: ParsedConnectionString; readonly known: number; readonly unknown: number }
  | { readonly form: ConnectionStringForm; readonly failure: GrammarError }

function attempt(form: ConnectionStringForm, text: string): Reading {
  try {
    return read(form, text)
  } catch (err) {
    if (err instanceof GrammarError) return { form, failure: err }
    throw err
  }
}

/** One form's reading: its grammar, then its vocabulary, then the shape of hosts and ports. */
function read(form: ConnectionStringForm, text: string): Reading {
  // No prototype: a polluted Object.prototype must not look like a key of the string.
  const params: Record<string, StringParam> = Object.create(null) as Record<string, StringParam>
  const unknownKeys: string[] = []
  let unnamed = 0
  let hostPort: StringParam | undefined
  let previous: string | undefined
  for (const { key, value } of GRAMMARS[form](text)) {
    const meaning = meaningOf(form, key)
    const after = positionAfter(form, previous)
    previous = key
    if (meaning === undefined) {
      if (form !== 'adonet' && key.toLowerCase() === 'service') {
        reject('it names a connection service (pg_service.conf), which azure-pg-tls does not read', 'Write the service\'s settings into the connection string instead.')
      }
      if (!isKeywordShaped(key)) reject(`the key ${after} is not a keyword`, QUOTING_HINT)
      const name = wellKnownName(key)
      if (name === undefined) unnamed++
      else unknownKeys.push(name)
      continue
    }
    if ('unused' in meaning) {
      unknownKeys.push(meaning.unused)
      continue
    }
    const name = meaning.canonical
    if (value === undefined) {
      // Npgsql: `Key=;` resets the setting to its default.
      delete params[name]
      continue
    }
    const param = { key: key.trim(), value: key === 'requiressl' ? (value.startsWith('1') ? 'require' : 'prefer') : value }
    const where = form === 'uri' ? `the ${name} part of the URI` : form === 'jdbc' ? `the ${name} part of the JDBC URL` : `the value of ${keyLabel(form, key)}`
    if (name === 'host') {
      const split = form === 'adonet' ? splitHostPort(param.value) : undefined
      if (split !== undefined) {
        param.value = split.host
        hostPort = { key: param.key, value: split.port }
      }
      checkHost(param.value, where)
    }
    if (name === 'port') {
      if (param.value.trim() === '') continue
      if (!/^\s*\d{1,5}\s*$/.test(param.value)) reject(`${where} is not a port number`, form === 'uri' ? `Use a number from 1 to 65535. ${ENCODE_HINT}` : 'Use a number from 1 to 65535; Azure uses 5432 (6432 for PgBouncer).')
    }
    if (name === 'hostaddr' && param.value !== '' && isIP(param.value) === 0) reject(`${where} is not an IP address`, 'Set hostaddr to an IPv4 or IPv6 address, and host to the server name the certificate carries.')
    params[name] = param
  }
  // Npgsql: a port written inside Host beats the Port keyword.
  if (hostPort !== undefined) params['port'] = hostPort
  const known = Object.keys(params).length
  const parsed: ParsedConnectionString = { form, params, unknownKeys, unnamedUnknownKeys: unnamed }
  return { form, parsed, known, unknown: unknownKeys.length + unnamed }
}

/**
 * Npgsql's `TrySplitHostPort`: `host:5432` or `[v6]:5432` carries a port; an unbracketed IPv6
 * address (two or more colons) does not. A port that is not a number is an error, as in Npgsql.
 */
function splitHostPort(host: string): { host: string; port: string } | undefined {
  if (host.includes(',') || host.startsWith('/')) return undefined
  const sep = host.lastIndexOf(':')
  if (sep === -1) return undefined
  const other = host.slice(0, sep).lastIndexOf(':')
  const v6End = host.lastIndexOf(']')
  if (!(other === -1 || (sep > v6End && other < v6End))) return undefined
  const port = host.slice(sep + 1)
  if (!/^\s*[+-]?\d{1,10}\s*$/.test(port)) reject('the port inside the value of key "Host" is not a port number', 'Write Host=server.postgres.database.azure.com;Port=5432, or Host=server:5432.')
  const bare = host.slice(0, sep)
  const m = /^\[(.+)\]$/.exec(bare)
  return { host: m === null ? bare : (m[1] ?? bare), port: port.trim().replace(/^\+/, '') }
}

/**
 * A host must be a DNS name, an IP address, or a Unix-socket path (which the TLS policy refuses by
 * name). Anything else can only be a fragment of a broken parse, and is never handed to a resolver.
 */
function checkHost(host: string, where: string): void {
  if (host === '' || isHostOrAddress(host)) return
  if (host.includes(',')) reject(`${where} names several hosts; azure-pg-tls connects to one server`, 'Keep a single host in the connection string.')
  reject(`${where} is not a host name`, QUOTING_HINT)
}
