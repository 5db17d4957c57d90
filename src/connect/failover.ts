// What a pool needs to ride through a failover, as pure parts: which failures mean that the server a
// connection reached is gone (or no longer writable), what identifies a server, and how long to wait
// between reconnect attempts. The pool (client.ts, CheckoutTimedPool) does the I/O.
import type { TLSSocket } from 'node:tls'
import { AzurePgError } from '../errors.js'
import { sessionFactsFromParameters } from './session-attrs.js'

/**
 * Why a pool takes a server for gone: it said it is shutting down or restarting (SQLSTATE 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), it refused a write as read-only while
 * it reports itself a hot standby (25006 after a promotion elsewhere), or the connection was lost without a
 * word (reset, closed).
 */
export type FailoverSignal = 'shutdown' | 'read-only' | 'lost'

/**
 * What tells servers apart: the address and port the socket reached, and the SHA-256 fingerprint of the
 * certificate the server presented. Behind one Azure host name a failover changes the address (DNS
 * points at the promoted standby, in another zone); behind a relay or a proxy that keeps one address, each
 * server's own certificate still differs. A restart of the same server keeps both, so it is not a failover.
 * Nothing is asked of the server (no round trip): a primary and the standby made from it even share
 * PostgreSQL's system identifier.
 */
export interface ServerIdentity {
  /** The address the socket reached (after DNS): `10.0.0.4`, `127.0.0.1`. */
  readonly address: string
  readonly port: number
  /** SHA-256 fingerprint of the server's certificate, `AB:CD:…` as Node prints it. */
  readonly certificate: string
  /** `address:port certificate`, one string to compare and log. */
  readonly id: string
}

/** What a pool's `failover` event carries: the server lost and the one a new connection reached. */
export interface FailoverEvent {
  readonly from: ServerIdentity
  readonly to: ServerIdentity
  /** What made the pool take `from` for gone. */
  readonly signal: FailoverSignal
  /** The SQLSTATE that said so (57P01, 25006, …), when a server said it. */
  readonly sqlState: string | undefined
  /** Milliseconds from the pool noticing the loss to the first connection to `to`. */
  readonly ms: number
}

/** The identity of the server at the end of a connected TLS socket, or undefined once it has closed. */
export function serverIdentityOf(socket: TLSSocket | undefined): ServerIdentity | undefined {
  const address = socket?.remoteAddress
  const port = socket?.remotePort
  if (socket === undefined || address === undefined || port === undefined) return undefined
  const certificate = socket.getPeerCertificate().fingerprint256 ?? ''
  return { address, port, certificate, id: `${address}:${port} ${certificate}` }
}

const SHUTDOWN_STATES = new Set(['57P01', '57P02', '57P03'])

/**
 * True for a notice in which the server says it is ending the session (57P01/57P02): what a backend
 * sends instead of an error when it must not answer the statement (a COMMIT waiting for the synchronous
 * standby at shutdown: "canceling the wait for synchronous replication and terminating connection",
 * already committed locally) or at an immediate shutdown, before it closes the connection.
 */
export function isShutdownNotice(msg: unknown): boolean {
  const code = (msg as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code === '57P01' || code === '57P02')
}

/** The SQLSTATE of a server error, or of the server error an AzurePgError explains. */
export function sqlStateOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    // A server's error (pg's DatabaseError) has a severity; Node's errors have codes of five letters too (EPIPE).
    const { code, severity } = e as { code?: unknown; severity?: unknown }
    if (typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

/**
 * The signal in a failure of a connection that had logged in, or undefined for a failure that says
 * nothing about the server (a SQL error, a query_timeout). `raw` is pg's error, `explained` the SDK's
 * AzurePgError for it (undefined for SQL errors), `parameters` what the session's server reported
 * (ParameterStatus): a 25006 counts only from a server that reports itself a hot standby (`in_hot_standby`,
 * which no session can set). `default_transaction_read_only` is not evidence: a session's own `SET`, `SET
 * SESSION CHARACTERISTICS` or a read-only role reports it too, and so does a server made read-only on
 * purpose (Azure's storage-full mode), where reconnecting helps nothing; taking those for a failover would
 * tell the application to retry a write it had forbidden itself, on a fresh session without its guard.
 */
export function failoverSignalOf(raw: unknown, explained: AzurePgError | undefined, parameters: ReadonlyMap<string, string>): FailoverSignal | undefined {
  const state = sqlStateOf(raw)
  // A server's FATAL ends the session; an ERROR with a 57P0x SQLSTATE is SQL imitating one (RAISE).
  if (state !== undefined && SHUTDOWN_STATES.has(state)) return (raw as { severity?: unknown }).severity === 'ERROR' ? undefined : 'shutdown'
  if (state === '25006') {
    const facts = sessionFactsFromParameters(parameters)
    return facts?.inHotStandby === true ? 'read-only' : undefined
  }
  if (explained?.code === 'CONNECTION_FAILED' && (explained.reason === 'reset' || explained.reason === 'closed')) return 'lost'
  return undefined
}

/** Reconnect waits: the first one, and the most any one may be. */
export const BACKOFF_BASE_MS = 50
export const BACKOFF_CAP_MS = 1000

/**
 * How long to wait before reconnect attempt `attempt` (0 for the first retry): exponential from
 * {@link BACKOFF_BASE_MS}, capped at {@link BACKOFF_CAP_MS}, with "equal jitter" (half fixed, half random)
 * so that a pool's many waiting checkouts do not reconnect in step. Undefined when the wait would not end
 * before `remainingMs` (the checkout's time limit): then the last failure is the answer.
 */
export function backoffDelay(attempt: number, remainingMs: number, random: () => number = Math.random): number | undefined {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 16))
  const delay = Math.round(ceiling / 2 + random() * (ceiling / 2))
  return delay < remainingMs ? delay : undefined
}

/**
 * Whether a failed reconnect attempt during a failover is worth another try: the server was not there
 * yet (refused, closed, reset, unreachable, a name that did not resolve, 57P03 starting up) or was not the
 * kind `target_session_attrs` asks for. Never a refusal of trust or credentials: those are answered at once.
 */
export function retryableDuringFailover(err: unknown): boolean {
  if (!(err instanceof AzurePgError) || err.code !== 'CONNECTION_FAILED') return false
  return err.reason === 'refused' || err.reason === 'closed' || err.reason === 'reset' || err.reason === 'unreachable' ||
    err.reason === 'dns' || err.reason === 'session-attrs'
}
