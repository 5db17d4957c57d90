// pgjdbc's URL grammar (org.postgresql.Driver.parseURL), read the same way.
import { decodeJava, reject, type RawPair } from './grammar.js'

/** The prefix pgjdbc requires, case-sensitively. */
export const JDBC_PREFIX = 'jdbc:postgresql:'

const HINT = 'Use jdbc:postgresql://host:5432/dbname?user=...&password=...&sslmode=verify-full; end the host and port with "/", and percent-encode "&", "%", "+" and "?" in values.'

/**
 * `jdbc:postgresql:[//host[:port]/[dbname]]` or `jdbc:postgresql:dbname`, then `?key=value&...`.
 *
 * - The query starts at the first `?`; `#` is data everywhere.
 * - After `//`, exactly one `/` must follow the host and port (`//` and `///` alone mean no host and
 *   no database); `jdbc:postgresql:/...` is refused.
 * - Host and port are not decoded; a port is the text after the last `:` that is not inside `[...]`,
 *   and must be a number from 1 to 65535 (an empty host with a port means localhost). Several hosts
 *   are refused: azure-pg-tls connects to one server.
 * - The database name and every value are URL-decoded (`+` is a space); keys are not. A key with no
 *   `=` has the empty value, which for `ssl` means true.
 */
export function parseJdbc(text: string): RawPair[] {
  const q = text.indexOf('?')
  let server = (q === -1 ? text : text.slice(0, q)).slice(JDBC_PREFIX.length)
  const args = q === -1 ? '' : text.slice(q + 1)
  const pairs: RawPair[] = []
  if (server === '//' || server === '///') {
    server = ''
  } else if (server.startsWith('//')) {
    const rest = server.slice(2)
    const slashes = rest.split('/').length - 1
    if (slashes > 1) reject('the JDBC URL has more than one "/" after the host', HINT)
    const slash = rest.indexOf('/')
    if (slash === -1) reject('the JDBC URL has no "/" after the host and port', HINT)
    if (!rest.endsWith('/')) pairs.push({ key: 'PGDBNAME', value: decodeJava(rest.slice(slash + 1), 'the database part of the JDBC URL') })
    // Java's split drops trailing empty strings: "h," is one address.
    const addresses = rest.slice(0, slash).split(',')
    while (addresses.length > 1 && addresses[addresses.length - 1] === '') addresses.pop()
    if (addresses.length > 1) reject('the JDBC URL names several hosts; azure-pg-tls connects to one server', 'Keep a single host in the connection string.')
    const address = addresses[0] ?? ''
    const portIdx = address.lastIndexOf(':')
    if (portIdx !== -1 && address.lastIndexOf(']') < portIdx) {
      const host = address.slice(0, portIdx)
      pairs.push({ key: 'PGHOST', value: host === '' ? 'localhost' : host })
      pairs.push({ key: 'PGPORT', value: javaPort(address.slice(portIdx + 1), 'the port part of the JDBC URL') })
    } else {
      pairs.push({ key: 'PGHOST', value: address })
    }
  } else if (server.startsWith('/')) {
    reject('the JDBC URL has a single "/" after jdbc:postgresql:', HINT)
  } else if (server !== '') {
    pairs.push({ key: 'PGDBNAME', value: decodeJava(server, 'the database part of the JDBC URL') })
  }
  let item = 0
  for (const token of args.split('&')) {
    if (token === '') continue
    item++
    const eq = token.indexOf('=')
    if (eq === -1) {
      pairs.push({ key: token, value: token === 'ssl' ? 'true' : '' })
      continue
    }
    const key = token.slice(0, eq)
    const value = decodeJava(token.slice(eq + 1), `query item ${item} of the JDBC URL`)
    pairs.push({ key, value: key === 'ssl' && value === '' ? 'true' : key.toUpperCase() === 'PORT' || key === 'PGPORT' ? javaPort(value, `query item ${item} of the JDBC URL`) : value })
  }
  return pairs.map((p) => (p.key === 'PGHOST' || p.key.toUpperCase() === 'HOST' ? { key: p.key, value: unbracket(p.value ?? '') } : p))
}

/** pgjdbc reads a port with `Integer.parseInt` (an optional sign) and accepts 1 to 65535. */
function javaPort(text: string, where: string): string {
  const m = /^([+-]?)(\d{1,10})$/.exec(text)
  const port = m === null ? NaN : Number(m[2]) * (m[1] === '-' ? -1 : 1)
  if (!(port >= 1 && port <= 65535)) reject(`${where} is not a port number from 1 to 65535`, HINT)
  return String(port)
}

/** pgjdbc keeps the brackets of an IPv6 host; the name the certificate is checked against has none. */
function unbracket(host: string): string {
  const m = /^\[(.+)\]$/.exec(host)
  return m === null ? host : (m[1] ?? host)
}
