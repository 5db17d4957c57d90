// The doctor's network probes. Each opens what it needs, measures it, and closes it; none sends
// credentials or queries.
import { lookup } from 'node:dns/promises'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type DetailedPeerCertificate, type TLSSocket } from 'node:tls'
import { withTimeLimit } from '../util/time-limit.js'

/** Milliseconds since `start`, rounded to 0.1. */
const since = (start: bigint): number => Math.round(Number(process.hrtime.bigint() - start) / 1e5) / 10

/** A probe's bounded wait: `onTimeout` closes what the probe opened. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  return withTimeLimit(p, ms, `${what}: no answer within ${ms} ms`, { onTimeout })
}

/** Resolves a host name to its addresses; the system resolver (getaddrinfo, /etc/hosts) by default. */
export type AddressLookup = (host: string) => Promise<string[]>

const systemLookup: AddressLookup = async (host) => (await lookup(host, { all: true })).map((a) => a.address)

/** Resolves a host name to all its addresses, timed. */
export async function resolveAddresses(host: string, timeoutMs: number, lookupFn: AddressLookup = systemLookup): Promise<{ addresses: string[]; ms: number }> {
  const start = process.hrtime.bigint()
  const addresses = await withTimeout(lookupFn(host), timeoutMs, `DNS lookup of ${host}`, () => {})
  return { addresses, ms: since(start) }
}

/** Opens a TCP connection. */
export async function openTcp(address: string, port: number, timeoutMs: number): Promise<{ socket: Socket; ms: number }> {
  const start = process.hrtime.bigint()
  const socket = netConnect({ host: address, port })
  await withTimeout(new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  }), timeoutMs, `TCP connect to ${address}:${port}`, () => socket.destroy())
  socket.removeAllListeners('error')
  return { socket, ms: since(start) }
}

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/** Sends the SSLRequest and returns the server's one-byte answer (`S`, `N`, or what else came). */
export async function askForTls(socket: Socket, timeoutMs: number): Promise<{ answer: string; ms: number }> {
  const start = process.hrtime.bigint()
  const answer = await withTimeout(new Promise<string>((resolve, reject) => {
    socket.once('data', (data: Buffer) => {
      socket.pause()
      const first = data.subarray(0, 1).toString('latin1')
      resolve(first === 'S' || first === 'N' ? first : `0x${data.subarray(0, 1).toString('hex')}`)
    })
    socket.once('error', reject)
    socket.once('end', () => reject(Object.assign(new Error('the server closed the connection without answering the TLS request'), { code: 'ECONNRESET' })))
    socket.write(SSL_REQUEST)
  }), timeoutMs, 'TLS request', () => socket.destroy())
  return { answer, ms: since(start) }
}

/** What a TLS handshake showed. */
export interface HandshakeResult {
  readonly authorized: boolean
  /** Node's verification error code against the given `ca` (e.g. UNABLE_TO_GET_ISSUER_CERT_LOCALLY). */
  readonly authorizationError: string | undefined
  readonly protocol: string
  readonly cipher: string
  readonly alpn: string | false
  readonly peer: DetailedPeerCertificate
  readonly ms: number
}

/**
 * Performs a TLS handshake to inspect the server: the chain, the protocol, and whether it verifies
 * against `ca`. Verification is reported, not enforced, so that a failing server can be diagnosed;
 * the socket is closed right after the handshake, before any byte of application data.
 */
export async function inspectTls(socket: Socket, settings: {
  servername: string | undefined
  ca: ConnectionOptions['ca']
  alpn?: string[]
  timeoutMs: number
}): Promise<HandshakeResult> {
  const start = process.hrtime.bigint()
  const tls: TLSSocket = tlsConnect({
    socket,
    ...(settings.servername !== undefined && { servername: settings.servername }),
    ca: settings.ca,
    minVersion: 'TLSv1.2',
    ...(settings.alpn !== undefined && { ALPNProtocols: settings.alpn }),
    // Inspection only: verification is evaluated below, and nothing is sent over this socket.
    rejectUnauthorized: false,
  })
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      tls.once('secureConnect', resolve)
      tls.once('error', reject)
    }), settings.timeoutMs, 'TLS handshake', () => tls.destroy())
    const err = tls.authorizationError as unknown
    return {
      authorized: tls.authorized,
      authorizationError: err instanceof Error ? (err as NodeJS.ErrnoException).code ?? err.message : typeof err === 'string' ? err : undefined,
      protocol: tls.getProtocol() ?? '?',
      cipher: tls.getCipher()?.name ?? '?',
      alpn: tls.alpnProtocol ?? false,
      peer: tls.getPeerCertificate(true),
      ms: since(start),
    }
  } finally {
    tls.destroy()
  }
}
