// The connection-string parser: finds which form a string is in by trying the grammars, and reduces
// it to libpq-named parameters. The grammars live in connection-string/, one per form.
import { isIP } from 'node:net'
import { invalidConfig } from '../errors.js'
import { isHostOrAddress } from './azure-host.js'
import { parseAdoNet } from './connection-string/adonet.js'
import { GrammarError, reject, unbracket, type RawPair } from './connection-string/grammar.js'
import { JDBC_PREFIX, parseJdbc } from './connection-string/jdbc.js'
import { parseKeyValue } from './connection-string/keyvalue.js'
import { parseUri, URI_PREFIXES } from './connection-string/uri.js'
import { libpqValue } from './connection-string/values.js'
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
  let hostEntries: readonly HostEntry[] | undefined
  let previous: string | undefined
  for (const { key, value } of GRAMMARS[form](text)) {
    const meaning = meaningOf(form, key)
    const after = positionAfter(form, previous)
    previous = key
    if (meaning === undefined) {
      if (form !== 'adonet' && key.toLowerCase() === 'service') {
        reject('it names a connection service (pg_service.conf), which azure-pg-tls does not read', 'Write the service\'s settings into the connection string instead.')
      }
      // libpq compares keys exactly: ` sslmode` is not sslmode, and a URI with an unknown key is refused. A
      // setting written with white space around its name is refused, never dropped as unknown.
      if (key !== key.trim() && meaningOf(form, key.trim()) !== undefined) {
        reject(`the key ${after} has white space around a setting's name`, 'Remove the white space around the key (percent-encoded spaces, %20, included).')
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
      if (name === 'host') hostEntries = undefined
      continue
    }
    const param = { key: key.trim(), value: key === 'requiressl' ? (value.startsWith('1') ? 'require' : 'prefer') : libpqValue(form, key, name, value) }
    const where = form === 'uri' ? `the ${name} part of the URI` : form === 'jdbc' ? `the ${name} part of the JDBC URL` : `the value of ${keyLabel(form, key)}`
    if (name === 'host') {
      if (form === 'adonet') {
        hostEntries = adoNetHosts(param.value, keyLabel(form, key))
        param.value = hostEntries.map((e) => e.host).join(',')
      }
      checkHosts(param.value, where)
    }
    if (name === 'port') {
      if (param.value.trim() === '') continue
      if (form === 'adonet' && param.value.includes(',')) reject(`${where} is a list; Npgsql's Port is one number`, 'Write the ports into Host: Host=a:5432,b:5433.')
      if (!param.value.split(',').every((p) => p === '' || /^\s*\d{1,5}\s*$/.test(p))) {
        reject(`${where} is not a port number${param.value.includes(',') ? ' list' : ''}`, form === 'uri' ? `Use a number from 1 to 65535. ${ENCODE_HINT}` : 'Use a number from 1 to 65535; Azure uses 5432 (6432 for PgBouncer).')
      }
    }
    if (name === 'hostaddr' && !param.value.split(',').every((a) => a === '' || isIP(a) !== 0)) {
      reject(`${where} is not an IP address${param.value.includes(',') ? ' list' : ''}`, 'Set hostaddr to an IPv4 or IPv6 address, and host to the server name the certificate carries.')
    }
    params[name] = param
  }
  // Npgsql: a port written inside Host beats the Port keyword, which serves the hosts written without one.
  if (hostEntries?.some((e) => e.port !== undefined) === true) {
    const portKeyword = params['port']
    const ports = hostEntries.map((e) => e.port ?? portKeyword?.value.trim() ?? '')
    params['port'] = { key: params['host']?.key ?? 'Host', value: ports.join(',') }
  }
  const known = Object.keys(params).length
  const parsed: ParsedConnectionString = { form, params, unknownKeys, unnamedUnknownKeys: unnamed }
  return { form, parsed, known, unknown: unknownKeys.length + unnamed }
}

/** One entry of Npgsql's Host: the host, and the port written with it, if any. */
interface HostEntry {
  readonly host: string
  readonly port: string | undefined
}

/** Npgsql's Host (`label` names its key): a comma list whose entries are trimmed, each `host`, `host:port`, `[v6]` or `[v6]:port`. */
function adoNetHosts(value: string, label: string): HostEntry[] {
  const list = value.split(',')
  return list.map((entry, i) => splitHostPort(list.length === 1 ? entry : entry.trim(), list.length === 1 ? `the value of ${label}` : `entry ${i + 1} of the value of ${label}`))
}

/**
 * Npgsql's `TrySplitHostPort`: `host:5432` or `[v6]:5432` carries a port; an unbracketed IPv6
 * address (two or more colons) does not. A port that is not a number is an error, as in Npgsql. The
 * brackets of an IPv6 host are dropped: the certificate is checked against the address without them.
 */
function splitHostPort(entry: string, where: string): HostEntry {
  const sep = entry.lastIndexOf(':')
  if (entry.startsWith('/') || sep === -1) return { host: unbracket(entry), port: undefined }
  const other = entry.slice(0, sep).lastIndexOf(':')
  const v6End = entry.lastIndexOf(']')
  if (!(other === -1 || (sep > v6End && other < v6End))) return { host: unbracket(entry), port: undefined }
  const port = entry.slice(sep + 1)
  if (!/^\s*[+-]?\d{1,10}\s*$/.test(port)) reject(`the port inside ${where} is not a port number`, 'Write Host=server.postgres.database.azure.com;Port=5432, or Host=server:5432 (several: Host=a:5432,b:5433).')
  return { host: unbracket(entry.slice(0, sep)), port: port.trim().replace(/^\+/, '') }
}

/**
 * Every entry of a host list must be a DNS name, an IP address, or a Unix-socket path (which the TLS
 * policy refuses by name), or empty (libpq's default, which the host pairing decides on). Anything else
 * can only be a fragment of a broken parse, and is never handed to a resolver.
 */
function checkHosts(hosts: string, where: string): void {
  const list = hosts.split(',')
  list.forEach((host, i) => {
    if (host !== '' && !isHostOrAddress(host)) reject(`${list.length === 1 ? where : `entry ${i + 1} of ${where}`} is not a host name`, QUOTING_HINT)
  })
}
