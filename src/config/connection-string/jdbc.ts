// pgjdbc's URL grammar (org.postgresql.Driver.parseURL), read the same way.
import { decodeJava, reject, unbracket, type RawPair } from './grammar.js'

/** The prefix pgjdbc requires, case-sensitively. */
export const JDBC_PREFIX = 'jdbc:postgresql:'

const HINT = 'Use jdbc:postgresql://host:5432/dbname?user=...&password=...&sslmode=verify-full; end the host and port with "/", and percent-encode "&", "%", "+" and "?" in values.'

/**
 * `jdbc:postgresql:[//host[:port][,host[:port]...]/[dbname]]` or `jdbc:postgresql:dbname`, then `?key=value&...`.
 *
 * - The query starts at the first `?`; `#` is data everywhere.
 * - After `//`, exactly one `/` must follow the addresses (`//` and `///` alone mean no host and
 *   no database); `jdbc:postgresql:/...` is refused, as pgjdbc refuses it.
 * - Without a host part (`jdbc:postgresql:dbname`, `jdbc:postgresql://`), the server is localhost:5432,
 *   pgjdbc's defaults.
 * - Addresses are separated by `,` and become libpq's comma lists `host=a,b`, `port=5432,5433`. Hosts and
 *   ports are not decoded; a port is the text after the last `:` that is not inside `[...]`, and must be
 *   a number from 1 to 65535 (an empty host with a port means localhost; an address without one: 5432).
 *   The host and port lists must end up with as many entries (pgjdbc's consistency check).
 * - The database name and every value are URL-decoded (`+` is a space); keys are not. A key with no
 *   `=` has the empty value, which for `ssl` means true.
 */
export function parseJdbc(text: string): RawPair[] {
  const q = text.indexOf('?')
  const server = (q === -1 ? text : text.slice(0, q)).slice(JDBC_PREFIX.length)
  const args = q === -1 ? '' : text.slice(q + 1)
  const pairs: RawPair[] = []
  if (server.startsWith('//') && server !== '//' && server !== '///') {
    const rest = server.slice(2)
    const slashes = rest.split('/').length - 1
    if (slashes > 1) reject('the JDBC URL has more than one "/" after the host', HINT)
    const slash = rest.indexOf('/')
    if (slash === -1) reject('the JDBC URL has no "/" after the host and port', HINT)
    if (!rest.endsWith('/')) pairs.push({ key: 'PGDBNAME', value: decodeJava(rest.slice(slash + 1), 'the database part of the JDBC URL') })
    // Java's split drops trailing empty strings: "h," is one address.
    const addresses = rest.slice(0, slash).split(',')
    while (addresses.length > 1 && addresses[addresses.length - 1] === '') addresses.pop()
    const hosts: string[] = []
    // An address without a port gets pgjdbc's 5432: written as an empty entry, libpq's "default".
    const ports: string[] = []
    addresses.forEach((address, i) => {
      const portIdx = address.lastIndexOf(':')
      const where = addresses.length === 1 ? 'the port part of the JDBC URL' : `the port of address ${i + 1} of the JDBC URL`
      if (portIdx !== -1 && address.lastIndexOf(']') < portIdx) {
        const host = address.slice(0, portIdx)
        hosts.push(host === '' ? 'localhost' : host)
        ports.push(javaPort(address.slice(portIdx + 1), where))
      } else {
        hosts.push(address)
        ports.push('')
      }
    })
    pairs.push({ key: 'PGHOST', value: hosts.join(',') })
    if (ports.join(',') !== '') pairs.push({ key: 'PGPORT', value: ports.join(',') })
  } else if (server.startsWith('/') && server !== '//' && server !== '///') {
    reject('the JDBC URL has a single "/" after jdbc:postgresql:', HINT)
  } else {
    // No host part (`jdbc:postgresql:dbname`, `jdbc:postgresql://`): pgjdbc's default host, localhost (port 5432).
    if (!server.startsWith('//') && server !== '') pairs.push({ key: 'PGDBNAME', value: decodeJava(server, 'the database part of the JDBC URL') })
    pairs.push({ key: 'PGHOST', value: 'localhost' })
  }
  const addresses = pairs.find((p) => p.key === 'PGHOST')?.value?.split(',').length ?? 1
  const fromQuery = pairs.length
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
    const isPort = key.toUpperCase() === 'PORT' || key === 'PGPORT'
    pairs.push({ key, value: key === 'ssl' && value === '' ? 'true' : isPort ? value.split(',').map((v) => javaPort(v, `query item ${item} of the JDBC URL`)).join(',') : value })
  }
  const unbracketed = pairs.map((p) => (isHostKey(p.key) ? { key: p.key, value: (p.value ?? '').split(',').map(unbracket).join(',') } : p))
  checkCounts(addresses, unbracketed.slice(fromQuery))
  return unbracketed
}

/** `host` in any case reaches pgjdbc's PGHOST (its service-key translation), as PGHOST itself does. */
function isHostKey(key: string): boolean {
  return key === 'PGHOST' || key.toUpperCase() === 'HOST'
}

/** How many entries Java's `split(",")` finds: trailing empty entries are dropped. */
function javaCount(value: string | undefined): number {
  const parts = (value ?? '').split(',')
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop()
  return Math.max(parts.length, 1)
}

/**
 * pgjdbc's consistency check: the host list and the port list, as finally set, must have as many entries.
 * The address part pairs them (`addresses` of each; 5432 for an address without a port); a query's
 * `PGHOST` or `port` replaces one of them whole.
 */
function checkCounts(addresses: number, query: readonly RawPair[]): void {
  let hosts = addresses
  let ports = addresses
  for (const p of query) {
    if (isHostKey(p.key)) hosts = javaCount(p.value)
    else if (p.key === 'PGPORT' || p.key.toUpperCase() === 'PORT') ports = javaCount(p.value)
  }
  if (hosts !== ports) reject(`the JDBC URL names ${hosts} ${hosts === 1 ? 'host' : 'hosts'} and ${ports} ${ports === 1 ? 'port' : 'ports'}; pgjdbc needs one port per host`, 'Write each address as host:port, or give PGPORT as many ports as PGHOST has hosts.')
}

/** pgjdbc reads a port with `Integer.parseInt` (an optional sign) and accepts 1 to 65535. */
function javaPort(text: string, where: string): string {
  const m = /^([+-]?)(\d{1,10})$/.exec(text)
  const port = m === null ? NaN : Number(m[2]) * (m[1] === '-' ? -1 : 1)
  if (!(port >= 1 && port <= 65535)) reject(`${where} is not a port number from 1 to 65535`, HINT)
  return String(port)
}
