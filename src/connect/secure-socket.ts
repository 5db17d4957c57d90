// One verified TLS session to one server, opened by the SDK itself: TCP, then the SSLRequest and its
// one-byte answer (or direct TLS with ALPN "postgresql"), then the handshake with that server's own TLS
// options, checked by verifySession before anyone may write on it. The host loop (host-loop.ts) opens
// one per attempt, so that each server of a host list is verified against its own name; pg only ever
// gets a session that is already verified.
import { Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls'
import { isVerificationFailure } from './adaptive-connect.js'
import { verifySession } from './tls-guard.js'

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/** Where to go, and how. */
export interface SecureSocketRequest {
  /** The server's name: what SNI and the identity check use (already in `ssl`). */
  readonly host: string
  /** Where the TCP connection goes (hostaddr, or the name). */
  readonly connectHost: string
  readonly port: number
  readonly negotiation: 'postgres' | 'direct'
  /** `auto`: a direct attempt that fails before it is verified goes again with the SSLRequest, on a fresh socket. */
  readonly fallback: boolean
  /** The complete, frozen TLS options of this server (roots, context, servername, identity check). */
  readonly ssl: Readonly<ConnectionOptions>
  /** A new socket is being tried (the caller points pg's stream at it, so that end() reaches it). */
  readonly onSocket: (raw: Socket) => void
  /** TCP is up, about to negotiate TLS this way. */
  readonly onTcp: (negotiation: 'postgres' | 'direct') => void
  /** The server did not take direct TLS (to remember, as adaptive connect does). */
  readonly onDirectRefused: () => void
}

/** A session being opened. */
export interface SecureSocketAttempt {
  /** The verified session, with no listener of this module left on it; or the failure. */
  readonly done: Promise<{ readonly tls: TLSSocket; readonly raw: Socket }>
  /** Ends the attempt with `err` (a time limit), destroying whatever socket it has. */
  abort(err: Error): void
}

/** A connection closed by the other side, as pg and Node word it (`ECONNRESET`). */
export const closed = (message: string): Error => Object.assign(new Error(message), { code: 'ECONNRESET' })

/**
 * Opens a verified TLS session to one server. Before the handshake completes nothing but the SSLRequest is
 * sent; after it, nothing at all: the caller writes, once the session is handed over. Texts of the failures
 * are pg's own where pg has one, so that the error table (explain.ts) reads them alike.
 */
export function openSecureSocket(req: SecureSocketRequest): SecureSocketAttempt {
  let settled = false
  let current: { raw: Socket; tls: TLSSocket | undefined } | undefined
  let resolveDone: (v: { tls: TLSSocket; raw: Socket }) => void = () => undefined
  let rejectDone: (e: Error) => void = () => undefined
  const done = new Promise<{ tls: TLSSocket; raw: Socket }>((resolve, reject) => { resolveDone = resolve; rejectDone = reject })
  const fail = (err: unknown): void => {
    if (settled) return
    settled = true
    current?.tls?.destroy()
    current?.raw.destroy()
    rejectDone(err instanceof Error ? err : new Error(String(err)))
  }

  const start = (negotiation: 'postgres' | 'direct'): void => {
    const raw = new Socket()
    raw.setNoDelay(true)
    const attempt = { raw, tls: undefined as TLSSocket | undefined }
    current = attempt
    const mine = (): boolean => current === attempt && !settled
    const early = (err: unknown): void => { if (mine()) fail(err) }
    const closedEarly = (): void => early(closed('Connection terminated unexpectedly'))
    raw.on('error', early)
    raw.once('close', closedEarly)
    // Once TLS is up, the TLS socket reports for the raw one.
    const handOver = (): void => { raw.removeListener('error', early); raw.removeListener('close', closedEarly) }
    raw.once('connect', () => {
      if (!mine()) return
      req.onTcp(negotiation)
      if (negotiation === 'direct') {
        handshake(attempt, 'direct', handOver)
        return
      }
      raw.once('data', (answer: Buffer) => {
        if (!mine()) return
        // Exactly one byte: anything after the `S` came unencrypted, and may have been put there on the way.
        if (answer.length === 1 && answer[0] === 0x53) handshake(attempt, 'postgres', handOver)
        else if (answer.length === 1 && answer[0] === 0x4e) fail(new Error('The server does not support SSL connections'))
        // An error message ('E') in the clear, as libpq 17.1+ does: not read (nothing vouches for it), and the end of the connect.
        else if (answer[0] === 0x45) fail(new Error('server sent an error response during SSL exchange'))
        else fail(new Error('There was an error establishing an SSL connection'))
      })
      raw.write(SSL_REQUEST)
    })
    req.onSocket(raw)
    raw.connect(req.port, req.connectHost)
  }

  const handshake = (attempt: { raw: Socket; tls: TLSSocket | undefined }, negotiation: 'postgres' | 'direct', handOver: () => void): void => {
    const tls = tlsConnect({
      ...req.ssl, socket: attempt.raw, host: req.host,
      ...(negotiation === 'direct' && { ALPNProtocols: ['postgresql'] }),
    })
    attempt.tls = tls
    const mine = (): boolean => current === attempt && !settled
    const failed = (err: unknown): void => {
      if (!mine()) return
      if (negotiation === 'direct' && req.fallback && !isVerificationFailure(err)) {
        // The server did not take direct TLS: go in the classic way on a fresh socket, as adaptive connect does.
        tls.destroy()
        attempt.raw.destroy()
        req.onDirectRefused()
        start('postgres')
        return
      }
      fail(err)
    }
    const closedDuring = (): void => failed(closed('The server closed the connection during the TLS handshake.'))
    tls.on('error', failed)
    tls.once('close', closedDuring)
    tls.once('secureConnect', () => {
      if (!mine()) return
      const problem = verifySession(tls, negotiation)
      if (problem !== undefined) {
        failed(problem)
        return
      }
      settled = true
      tls.removeListener('error', failed)
      tls.removeListener('close', closedDuring)
      handOver()
      resolveDone({ tls, raw: attempt.raw })
    })
  }

  start(req.negotiation)
  return { done, abort: fail }
}
