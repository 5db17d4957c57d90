// Which phase a client's connection is in, from pg's Connection events, so that a failure can say
// where it happened; and the seam that turns a lost connection during a query into an AzurePgError.
import type { EventEmitter } from 'node:events'
import type { AzurePgError, ConnectionPhase } from '../errors.js'
import type { TLSSocket } from 'node:tls'
import { explainConnectError, explainQueryError, type ConnectContext } from '../explain.js'
import { whenSecure } from './adaptive-connect.js'

/** The phase of one connection attempt, as far as it has come. */
export interface PhaseTracker {
  readonly current: ConnectionPhase
}

/** pg's Connection, as far as the tracker reads it. */
type PgConnection = EventEmitter & { stream?: unknown }

/** pg emits one event per protocol message; any of these means the server has started the login. */
const AUTH_EVENTS = [
  'authenticationCleartextPassword', 'authenticationMD5Password', 'authenticationSASL',
  'authenticationSASLContinue', 'authenticationSASLFinal', 'authenticationOk',
] as const

const ORDER: readonly ConnectionPhase[] = ['tcp', 'tls-request', 'tls-handshake', 'startup', 'authentication', 'query']

/**
 * Follows a pg Connection from before its TCP connect to its first ReadyForQuery. Phases only move
 * forward, so the order in which pg and the tracker see an event does not matter.
 */
export function trackPhase(connection: PgConnection, negotiation: 'postgres' | 'direct'): PhaseTracker {
  let current: ConnectionPhase = 'tcp'
  const advance = (to: ConnectionPhase): void => {
    if (ORDER.indexOf(to) > ORDER.indexOf(current)) current = to
  }
  // TCP is up: pg sends the SSLRequest now, or (direct TLS) starts the handshake at once.
  connection.once('connect', () => advance(negotiation === 'direct' ? 'tls-handshake' : 'tls-request'))
  // 'sslconnect' is emitted when pg starts TLS (after the server's `S`); the handshake ends with 'secureConnect'.
  connection.once('sslconnect', () => {
    advance('tls-handshake')
    const stream = connection.stream as TLSSocket | undefined
    if (stream !== undefined) whenSecure(stream, () => advance('startup'))
  })
  for (const event of AUTH_EVENTS) connection.once(event, () => advance('authentication'))
  connection.once('readyForQuery', () => advance('query'))
  return { get current() { return current } }
}

/** Turns a raw failure into an AzurePgError, or `undefined` to pass it on unchanged (SQL errors). */
export type QueryErrorExplainer = (err: unknown) => AzurePgError | undefined

/**
 * Explains a failure by the phase the connection is in: before ReadyForQuery as a connect failure of
 * that phase, after it as a query failure (see {@link explainQueryError}).
 */
export function failureExplainer(phase: PhaseTracker, ctx: ConnectContext, secrets: () => readonly string[]): QueryErrorExplainer {
  return (err) => (phase.current === 'query' ? explainQueryError(err, ctx, secrets()) : explainConnectError(err, ctx, secrets(), phase.current))
}

type Callback = (err: unknown, ...rest: unknown[]) => void
type QueryFn = (...args: unknown[]) => unknown
type EmitFn = (event: string | symbol, ...args: unknown[]) => boolean

/**
 * Makes `client.query(...)` (promise and callback forms) and the client's `'error'` events report a
 * lost connection as an AzurePgError of phase `query`. The same raw error gives the same AzurePgError
 * to both, since pg hands it to the running query and to `'error'` listeners (pg-pool's among them).
 * Submittables (pg-cursor, pg-query-stream) keep pg's own error path. A query that ran out of
 * `query_timeout` ends the client: its connection may still deliver the old answer, so its state is unknown.
 */
export function explainQueryFailures(client: { query: unknown; emit: unknown; end(): Promise<void> }, explain: QueryErrorExplainer): void {
  const seen = new WeakMap<object, unknown>()
  const convert = (err: unknown): unknown => {
    if (typeof err !== 'object' || err === null) return err
    if (seen.has(err)) return seen.get(err)
    const explained = explain(err) ?? err
    seen.set(err, explained)
    if (explained !== err && (err as Error).message === 'Query read timeout') client.end().catch(() => undefined)
    return explained
  }
  const query = (client.query as QueryFn).bind(client)
  const emit = (client.emit as EmitFn).bind(client)
  const wrapped: QueryFn = (...args) => {
    const first = args[0] as { submit?: unknown } | null | undefined
    if (typeof first?.submit === 'function') return query(...args)
    const at = args.findIndex((a) => typeof a === 'function')
    if (at !== -1) {
      const callback = args[at] as Callback
      args[at] = ((err: unknown, ...rest: unknown[]) => callback(err === null || err === undefined ? err : convert(err), ...rest)) satisfies Callback
      return query(...args)
    }
    const result = query(...args)
    return result instanceof Promise ? result.catch((err: unknown) => { throw convert(err) }) : result
  }
  const emitting: EmitFn = (event, ...args) => emit(event, ...(event === 'error' ? [convert(args[0]), ...args.slice(1)] : args))
  Object.defineProperty(client, 'query', { value: wrapped, writable: true, configurable: true, enumerable: false })
  Object.defineProperty(client, 'emit', { value: emitting, writable: true, configurable: true, enumerable: false })
}
