// libpq's host list: `host`, `hostaddr` and `port` are comma lists paired by position (connectOptions2 in
// PostgreSQL's fe-connect.c). Whatever form the configuration came in (options, any connection string,
// PGHOST/PGPORT/PGHOSTADDR), it arrives here as those three comma lists.
import { isIP } from 'node:net'
import { invalidConfig } from '../errors.js'
import { MAX_HOSTS } from '../options.js'
import { isHostOrAddress } from './azure-host.js'
import type { Setting } from './setting.js'

/** One server of the list before naming and TLS: where it is and what it is called. */
export interface PairedHost {
  /** The name the certificate is checked against: the host entry, or the paired address when that entry is empty. */
  readonly host: string
  /** Where the socket goes: the paired `hostaddr` entry if not empty, else `host`. */
  readonly connectHost: string
  readonly port: number
}

/** What the pairing reads: the three settings as found (a list is libpq's comma list). */
export interface HostListInput {
  readonly host: Setting | undefined
  readonly hostaddr: Setting | undefined
  readonly port: Setting | undefined
  /** Where a host was looked for, for the message when none is found. */
  readonly looked: readonly string[]
}

/** The default port, as libpq's for an unset or empty entry. */
export const DEFAULT_PORT = 5432

/** The entries of a comma list; undefined for an unset or empty setting (libpq: not given). At most MAX_HOSTS. */
function entries(s: Setting | undefined, name: string): string[] | undefined {
  if (s === undefined || s.value === '') return undefined
  const list = s.value.split(',')
  if (list.length > MAX_HOSTS) {
    throw invalidConfig(`${name} (from ${s.origin}) names ${list.length} entries; azure-pg-tls tries at most ${MAX_HOSTS} servers.`,
      `Name at most ${MAX_HOSTS} servers: each one tried may take a whole connect time limit.`)
  }
  return list
}

/** "host (from …)" for one server, "entry 2 of host (from …)" for a list. */
function entryName(name: string, s: Setting, i: number, count: number): string {
  return count === 1 ? `${name} (from ${s.origin})` : `entry ${i + 1} of ${name} (from ${s.origin})`
}

/** A port entry as libpq's pqParseIntParam reads it (white space around the digits allowed); empty means 5432. */
function portOf(entry: string, what: string): number {
  if (entry === '') return DEFAULT_PORT
  const port = /^\s*\d{1,5}\s*$/.test(entry) ? Number(entry) : NaN
  if (!(port >= 1 && port <= 65535)) {
    throw invalidConfig(`${what} is not a port number.`, 'Use a number from 1 to 65535; Azure uses 5432 (6432 for PgBouncer).')
  }
  return port
}

/**
 * Pairs hosts, addresses and ports as libpq does. The number of servers is the number of `hostaddr`
 * entries if given, else of `host` entries, else one; when both are given their counts must match. `port`
 * has one entry for every server or exactly one per server. An empty host entry takes its address as its
 * name; an empty address entry means the host is looked up by name; an empty port entry means 5432. Every
 * host must be a host name or IP address ({@link isHostOrAddress}) and every address an IP address, so a
 * message may name them. Throws `INVALID_CONFIG`; pure.
 */
export function pairHostList(input: HostListInput): PairedHost[] {
  const names = entries(input.host, 'host')
  const addrs = entries(input.hostaddr, 'hostaddr')
  const count = addrs?.length ?? names?.length ?? 1
  if (names !== undefined && addrs !== undefined && names.length !== addrs.length) {
    throw invalidConfig(`host (from ${input.host?.origin ?? '?'}) names ${names.length} ${names.length === 1 ? 'server' : 'servers'} and hostaddr (from ${input.hostaddr?.origin ?? '?'}) ${addrs.length} ${addrs.length === 1 ? 'address' : 'addresses'}; libpq pairs them by position.`,
      'Give one hostaddr entry per host (an empty entry looks that host up by name), or remove hostaddr.')
  }
  const ports = input.port === undefined ? undefined : input.port.value.split(',')
  if (ports !== undefined && ports.length !== 1 && ports.length !== count) {
    throw invalidConfig(`port (from ${input.port?.origin ?? '?'}) has ${ports.length} entries for ${count} ${count === 1 ? 'server' : 'servers'}.`,
      'Give one port for every host, or exactly one per host (an empty entry means 5432).')
  }
  const paired: PairedHost[] = []
  for (let i = 0; i < count; i++) {
    const addr = addrs?.[i] ?? ''
    if (addr !== '' && isIP(addr) === 0 && input.hostaddr !== undefined) {
      throw invalidConfig(`${entryName('hostaddr', input.hostaddr, i, count)} is not an IP address.`, 'Set hostaddr to an IPv4 or IPv6 address, and host to the server name the certificate carries.')
    }
    const name = names?.[i] ?? ''
    const host = name !== '' ? name : addr
    if (host === '') {
      if (count === 1) {
        throw invalidConfig(`No host is configured: looked for ${input.looked.join(', ')}.`,
          'Set host (or PGHOST, or the connection string\'s host) to <server>.postgres.database.azure.com.')
      }
      throw invalidConfig(`${entryName('host', input.host ?? { value: '', origin: 'the configuration', source: 'option' }, i, count)} is empty, and no hostaddr pairs with it (libpq would use a Unix socket, which has no TLS).`,
        'Name every server of the list: <server>.postgres.database.azure.com.')
    }
    // Messages name the host: only a host name or address gets that far (not control characters, say, from an option or PGHOST).
    if (!isHostOrAddress(host)) {
      const from = name !== '' ? input.host : input.hostaddr
      throw invalidConfig(`${from === undefined ? 'The host' : entryName(count === 1 ? 'The host' : 'host', from, i, count)} is not a host name or IP address.`,
        'Set host to the server\'s DNS name, <server>.postgres.database.azure.com for Azure.')
    }
    const portEntry = ports === undefined ? '' : ports.length === 1 ? ports[0] ?? '' : ports[i] ?? ''
    const port = input.port === undefined ? DEFAULT_PORT : portOf(portEntry, entryName('port', input.port, ports?.length === 1 ? 0 : i, ports?.length ?? 1))
    paired.push({ host, connectHost: addr !== '' ? addr : host, port })
  }
  return paired
}
