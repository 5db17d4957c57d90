// Loaded before every test file (--import): any attempt to open a TCP connection or resolve a name
// beyond this machine fails loudly, so no test can talk to the Internet, even by mistake.
import dns from 'node:dns'
import net from 'node:net'

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

function refuse(what: string): Error {
  return Object.assign(new Error(`loopback guard: a test tried to reach ${what}; tests may only use 127.0.0.1`), { code: 'ELOOPBACKGUARD' })
}

const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function guarded(this: net.Socket, ...args: unknown[]): net.Socket {
  const first = args[0]
  const opts = typeof first === 'object' && first !== null && !Array.isArray(first) ? (first as net.TcpNetConnectOpts & { path?: string }) : undefined
  const host = opts !== undefined ? opts.host : typeof args[1] === 'string' ? args[1] : typeof first === 'number' ? 'localhost' : undefined
  if (opts?.path === undefined && typeof first !== 'string' && host !== undefined && !LOOPBACK.test(host)) {
    throw refuse(String(host))
  }
  return (connect as (...a: unknown[]) => net.Socket).apply(this, args)
} as typeof net.Socket.prototype.connect

const lookup = dns.lookup
dns.lookup = function guardedLookup(hostname: string, ...rest: unknown[]): void {
  if (!LOOPBACK.test(hostname)) {
    const callback = rest[rest.length - 1] as (err: Error) => void
    process.nextTick(() => callback(refuse(hostname)))
    return
  }
  ;(lookup as (...a: unknown[]) => void)(hostname, ...rest)
} as typeof dns.lookup
