import { invalidConfig } from '../errors.js'
import { STRING_KEYS } from './fields.js'

/** The four shapes a pasted connection string comes in. */
export type ConnectionStringForm = 'uri' | 'keyvalue' | 'adonet' | 'jdbc'

/** One parameter as found in the string: its value, and the key as the user wrote it (for messages). */
export interface StringParam {
  readonly value: string
  readonly key: string
}

/** A connection string reduced to libpq-named parameters, whatever form it came in. */
export interface ParsedConnectionString {
  readonly form: ConnectionStringForm
  /** Keyed by canonical (libpq) name: host, hostaddr, port, dbname, user, password, sslmode, ... */
  readonly params: Readonly<Record<string, StringParam>>
  /** Keys the SDK does not understand, as written; the caller warns about them. */
  readonly unknownKeys: readonly string[]
}

/** JDBC (pgjdbc) parameter names that differ from libpq's, lower-cased. */
const JDBC_ALIASES: Readonly<Record<string, string>> = {
  applicationname: 'application_name',
  connecttimeout: 'connect_timeout',
  logintimeout: 'connect_timeout',
}

/** Npgsql / ADO.NET keys, lower-cased with spaces removed, to canonical names. */
const ADONET_ALIASES: Readonly<Record<string, string>> = {
  host: 'host', server: 'host',
  port: 'port',
  database: 'dbname', db: 'dbname',
  username: 'user', userid: 'user', user: 'user', uid: 'user',
  password: 'password', pwd: 'password', psw: 'password',
  sslmode: 'sslmode',
  trustservercertificate: 'trustservercertificate',
  rootcertificate: 'sslrootcert',
  sslcertificate: 'sslcert', sslkey: 'sslkey', sslpassword: 'sslpassword',
  applicationname: 'application_name',
  timeout: 'connect_timeout',
  options: 'options',
  clientencoding: 'client_encoding', encoding: 'client_encoding',
}

/**
 * Which form a string is in. URIs and JDBC URLs announce themselves; a `;` outside quotes means the
 * Npgsql form (the Azure portal's ADO.NET string always ends each pair with one).
 */
export function detectConnectionStringForm(text: string): ConnectionStringForm {
  const s = text.trimStart()
  if (/^postgres(?:ql)?:\/\//i.test(s)) return 'uri'
  if (/^jdbc:postgresql:/i.test(s)) return 'jdbc'
  return hasUnquotedSemicolon(s) ? 'adonet' : 'keyvalue'
}

function hasUnquotedSemicolon(s: string): boolean {
  let quote: string | null = null
  for (const ch of s) {
    if (quote !== null) {
      if (ch === quote) quote = null
    } else if (ch === '"' || ch === "'") quote = ch
    else if (ch === ';') return true
  }
  return false
}

/**
 * Parses a connection string in any of the forms users paste (libpq URI, libpq `key=value`,
 * ADO.NET/Npgsql, JDBC) into canonical libpq parameters. Pure; throws `INVALID_CONFIG` naming the
 * offending key or part, never a value (the value may be a password).
 */
export function parseConnectionString(text: string): ParsedConnectionString {
  if (text.trim() === '') throw invalidConfig('The connection string is empty.', 'Pass a connection string, or leave connectionString unset.')
  const form = detectConnectionStringForm(text)
  const raw = form === 'uri' ? parseUri(text.trim(), 'URI')
    : form === 'jdbc' ? parseJdbc(text.trim())
      : form === 'adonet' ? parseAdoNet(text)
        : parseKeyValue(text)
  const params: Record<string, StringParam> = {}
  const unknownKeys: string[] = []
  for (const { key, value } of raw) {
    const name = canonicalName(form, key)
    // Report only identifier-like keys: anything else may be a fragment of a mis-quoted password.
    if (name === undefined) unknownKeys.push(/^[A-Za-z_][\w .-]{0,40}$/.test(key) ? key : '(unreadable key)')
    else params[name] = { key, value }
  }
  return { form, params, unknownKeys }
}

function canonicalName(form: ConnectionStringForm, key: string): string | undefined {
  const lower = key.toLowerCase()
  if (form === 'adonet') return ADONET_ALIASES[lower.replace(/\s+/g, '')]
  if (form === 'jdbc' && lower in JDBC_ALIASES) return JDBC_ALIASES[lower]
  if (form === 'uri' && lower === 'dbname') return 'dbname'
  return STRING_KEYS.has(lower) ? lower : undefined
}

interface RawPair { key: string; value: string }

/**
 * A word without "=" is often the rest of an unquoted password that held a space or `;`, so the
 * message names it only when it is a known key, and otherwise names the key before it.
 */
function missingEquals(word: string, before: readonly RawPair[], hint: string): Error {
  const known = STRING_KEYS.has(word.toLowerCase()) || word.toLowerCase().replace(/\s+/g, '') in ADONET_ALIASES
  const previous = before[before.length - 1]?.key
  const what = known ? `key "${word}"` : previous === undefined ? 'first setting' : `text after the value of "${previous}"`
  return invalidConfig(`The connection string's ${what} is missing "=" and a value.`, hint)
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    throw invalidConfig(`The connection string's ${what} has a malformed percent-encoding.`,
      'Percent-encode reserved characters: @ as %40, : as %3A, / as %2F, % as %25.')
  }
}

/**
 * libpq URI: `postgresql://[user[:password]@][host][:port][/dbname][?k=v&...]`. The user part ends at
 * the last `@` of the authority, so a Single Server name pasted unencoded (`myadmin@server:pw@host`)
 * still parses as the user `myadmin@server`.
 */
function parseUri(text: string, label: string): RawPair[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i.exec(text)
  if (m === null) throw invalidConfig(`The connection string is not a valid ${label}.`, 'Use the form postgresql://user:password@host:5432/dbname?sslmode=verify-full.')
  const authority = m[1] ?? ''
  const path = m[2] ?? ''
  const query = m[3]
  const pairs: RawPair[] = []
  const at = authority.lastIndexOf('@')
  const hostPort = at === -1 ? authority : authority.slice(at + 1)
  if (at !== -1) {
    const userInfo = authority.slice(0, at)
    const colon = userInfo.indexOf(':')
    const user = colon === -1 ? userInfo : userInfo.slice(0, colon)
    if (user !== '') pairs.push({ key: 'user', value: decode(user, 'user name') })
    if (colon !== -1) pairs.push({ key: 'password', value: decode(userInfo.slice(colon + 1), 'password') })
  }
  if (hostPort.includes(',')) {
    throw invalidConfig(`The connection string names several hosts; azure-pg-tls connects to one server.`, 'Keep a single host in the connection string.')
  }
  let host = hostPort
  let port: string | undefined
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(hostPort)
  if (v6 !== null) {
    host = v6[1] ?? ''
    port = v6[2]
  } else {
    const colon = hostPort.lastIndexOf(':')
    if (colon !== -1) {
      host = hostPort.slice(0, colon)
      port = hostPort.slice(colon + 1)
    }
  }
  if (host !== '') pairs.push({ key: 'host', value: decode(host, 'host') })
  if (port !== undefined && port !== '') pairs.push({ key: 'port', value: decode(port, 'port') })
  const db = path.replace(/^\//, '')
  if (db !== '') pairs.push({ key: 'dbname', value: decode(db, 'database name') })
  if (query !== undefined && query !== '') {
    for (const item of query.split('&')) {
      if (item === '') continue
      const eq = item.indexOf('=')
      if (eq === -1) throw invalidConfig(`The connection string's query parameter "${decode(item, 'query')}" has no value.`, 'Write query parameters as key=value.')
      pairs.push({ key: decode(item.slice(0, eq), 'query'), value: decode(item.slice(eq + 1), 'query') })
    }
  }
  return pairs
}

/** pgjdbc URL: `jdbc:postgresql://host[:port]/db?...`, or `jdbc:postgresql:db` for localhost. */
function parseJdbc(text: string): RawPair[] {
  const rest = text.slice('jdbc:'.length)
  if (/^postgresql:\/\//i.test(rest)) return parseUri(rest, 'JDBC URL')
  const m = /^postgresql:([^?/]*)(?:\?(.*))?$/i.exec(rest)
  if (m === null) throw invalidConfig('The connection string is not a valid JDBC URL.', 'Use the form jdbc:postgresql://host:5432/dbname?user=...&sslmode=verify-full.')
  return parseUri(`postgresql:///${m[1] ?? ''}${m[2] === undefined ? '' : `?${m[2]}`}`, 'JDBC URL')
}

/**
 * libpq `key=value` pairs separated by white space; a value may be single-quoted, and a backslash
 * escapes the next character in either kind of value.
 */
function parseKeyValue(text: string): RawPair[] {
  const pairs: RawPair[] = []
  let i = 0
  const n = text.length
  const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c)
  while (i < n) {
    while (isSpace(text[i])) i++
    if (i >= n) break
    let key = ''
    while (i < n && text[i] !== '=' && !isSpace(text[i])) key += text[i++]
    while (isSpace(text[i])) i++
    if (text[i] !== '=') throw missingEquals(key, pairs, 'Write each setting as key=value, separated by spaces; quote values that hold spaces.')
    i++
    while (isSpace(text[i])) i++
    let value = ''
    if (text[i] === "'") {
      i++
      let closed = false
      while (i < n) {
        const c = text[i++]
        if (c === '\\' && i < n) value += text[i++]
        else if (c === "'") { closed = true; break }
        else value += c
      }
      if (!closed) throw invalidConfig(`The connection string's value for "${key}" has an unterminated quote.`, "Close the single quote; write a literal quote inside it as \\'.")
    } else {
      while (i < n && !isSpace(text[i])) {
        const c = text[i++]
        if (c === '\\' && i < n) value += text[i++]
        else value += c
      }
    }
    pairs.push({ key, value })
  }
  return pairs
}

/**
 * ADO.NET / Npgsql: `Key=Value;` pairs, keys case-insensitive and possibly spaced (`Ssl Mode`), values
 * optionally quoted with `"` or `'` (the quote doubled inside).
 */
function parseAdoNet(text: string): RawPair[] {
  const pairs: RawPair[] = []
  let i = 0
  const n = text.length
  while (i < n) {
    let key = ''
    while (i < n && text[i] !== '=' && text[i] !== ';') key += text[i++]
    key = key.trim()
    if (text[i] === ';' || i >= n) {
      if (key !== '') throw missingEquals(key, pairs, 'Write each setting as Key=Value; quote values that hold ";".')
      i++
      continue
    }
    i++ // '='
    while (i < n && /[ \t]/.test(text[i] ?? '')) i++
    let value = ''
    const q = text[i]
    if (q === '"' || q === "'") {
      i++
      let closed = false
      while (i < n) {
        const c = text[i++]
        if (c === q) {
          if (text[i] === q) { value += q; i++ } else { closed = true; break }
        } else value += c
      }
      if (!closed) throw invalidConfig(`The connection string's value for "${key}" has an unterminated quote.`, 'Close the quote; double a quote character to write it inside.')
      while (i < n && text[i] !== ';') i++
    } else {
      while (i < n && text[i] !== ';') value += text[i++]
      value = value.trim()
    }
    i++ // ';'
    pairs.push({ key, value })
  }
  return pairs
}
