// libpq's connection URI grammar (conninfo_uri_parse_options, conninfo_uri_parse_params and
// conninfo_uri_decode in PostgreSQL's fe-connect.c), read the same way.
import { decodeLibpq, reject, type RawPair } from './grammar.js'

/** The two prefixes libpq recognises, compared case-sensitively as libpq does. */
export const URI_PREFIXES = ['postgresql://', 'postgres://'] as const

const HINT = 'Use postgresql://user:password@host:5432/dbname?sslmode=verify-full, and percent-encode reserved characters in each part: @ as %40, : as %3A, / as %2F, ? as %3F, & as %26, = as %3D, % as %25.'

/**
 * `postgresql://[user[:password]@][host][:port][,...][/dbname][?key=value&...]`.
 *
 * - The user part ends at the first `@` met before any `/`; the password runs from the first `:` in
 *   it to that `@`. So `?`, `#`, `&`, `;` and `=` may stand unencoded in a password, but `/` and `@`
 *   may not: with a `/`, libpq finds no user part and reads the text as host and port.
 * - `#` is not special anywhere: it is part of the database name or a value.
 * - A host is `[IPv6]` or runs to `:`, `/`, `?` or `,`; a port runs to `/`, `?` or `,`. After `]`
 *   only those may follow. Several `host[:port]` are separated by `,` and become libpq's comma lists
 *   `host=a,b` and `port=5432,5433` (an entry without a port: empty, the default).
 * - Empty parts (`@`, `:`, `/`) set nothing.
 * - Each query item is `key=value` with exactly one `=`; an empty item between two `&` is an error,
 *   a trailing `&` is not. Keys and values are percent-decoded.
 */
export function parseUri(text: string): RawPair[] {
  const prefix = URI_PREFIXES.find((p) => text.startsWith(p)) ?? ''
  const s = text.slice(prefix.length)
  const pairs: RawPair[] = []
  const n = s.length
  let p = 0
  const firstAtOrSlash = s.search(/[@/]/)
  if (firstAtOrSlash !== -1 && s[firstAtOrSlash] === '@') {
    const userInfo = s.slice(0, firstAtOrSlash)
    const colon = userInfo.indexOf(':')
    const user = colon === -1 ? userInfo : userInfo.slice(0, colon)
    // libpq would read `postgresql://host?password=a@b` as the user "host?password=a" at the host
    // "b": a host taken from a password. A user part holding `?` is refused instead.
    if (user.includes('?')) reject('the user part of the URI contains "?" (a query before the host?)', HINT)
    if (user !== '') pairs.push({ key: 'user', value: decodeLibpq(user, 'the user part of the URI') })
    const password = colon === -1 ? '' : userInfo.slice(colon + 1)
    if (password !== '') pairs.push({ key: 'password', value: decodeLibpq(password, 'the password part of the URI') })
    p = firstAtOrSlash + 1
  }
  // Each netloc is `[IPv6]` or runs to `:`, `/`, `?` or `,`; its port runs to `/`, `?` or `,`. As in libpq,
  // the hosts and the ports are joined into two comma lists of the same length (an empty entry: the default).
  const hosts: string[] = []
  const ports: string[] = []
  let terminator: string
  for (;;) {
    let host: string
    if (s[p] === '[') {
      const close = s.indexOf(']', p + 1)
      if (close === -1) reject('the IPv6 host of the URI has no closing "]"', HINT)
      if (close === p + 1) reject('the IPv6 host of the URI is empty', HINT)
      host = s.slice(p + 1, close)
      p = close + 1
      if (p < n && !':/?,'.includes(s[p] ?? '')) reject('the IPv6 host of the URI is followed by something other than ":", "/", "?" or ","', HINT)
    } else {
      const start = p
      while (p < n && !':/?,'.includes(s[p] ?? '')) p++
      host = s.slice(start, p)
    }
    terminator = s[p] ?? ''
    let port = ''
    if (terminator === ':') {
      const start = ++p
      while (p < n && !'/?,'.includes(s[p] ?? '')) p++
      port = s.slice(start, p)
      terminator = s[p] ?? ''
    }
    hosts.push(decodeLibpq(host, 'the host part of the URI'))
    ports.push(decodeLibpq(port, 'the port part of the URI'))
    if (terminator !== ',') break
    p++
  }
  // libpq stores a list only when it is not empty: `a,b` stores the port list ",", one host alone without a port none.
  const hostList = hosts.join(',')
  const portList = ports.join(',')
  if (hostList !== '') pairs.push({ key: 'host', value: hostList })
  if (portList !== '') pairs.push({ key: 'port', value: portList })
  if (terminator === '/') {
    const start = ++p
    while (p < n && s[p] !== '?') p++
    const dbname = s.slice(start, p)
    if (dbname !== '') pairs.push({ key: 'dbname', value: decodeLibpq(dbname, 'the database part of the URI') })
    terminator = s[p] ?? ''
  }
  if (terminator === '?') pairs.push(...parseQuery(s.slice(p + 1)))
  return pairs
}

function parseQuery(query: string): RawPair[] {
  const pairs: RawPair[] = []
  let p = 0
  while (p < query.length) {
    const start = p
    let eq = -1
    for (;;) {
      const c = query[p]
      if (c === '=') {
        if (eq !== -1) reject(`query item ${pairs.length + 1} of the URI has more than one "="`, HINT)
        eq = p
      } else if (c === '&' || c === undefined) break
      p++
    }
    if (eq === -1) reject(`query item ${pairs.length + 1} of the URI has no "="`, HINT)
    const where = `query item ${pairs.length + 1} of the URI`
    pairs.push({ key: decodeLibpq(query.slice(start, eq), where), value: decodeLibpq(query.slice(eq + 1, p), where) })
    if (query[p] === '&') p++
  }
  return pairs
}
