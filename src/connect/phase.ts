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

/**
 * One raw failure, one AzurePgError: pg hands a lost connection's error to the running query, to the
 * queued ones and to `'error'` listeners (pg-pool's among them), and each must see the same object.
 * Errors the explainer leaves alone (SQL errors) come back unchanged. A query that ran out of
 * `query_timeout` ends the client (`end`): its connection may still deliver the old answer, so its
 * state is unknown.
 */
export function errorConverter(explain: QueryErrorExplainer, end: () => void): (err: unknown) => unknown {
  const seen = new WeakMap<object, unknown>()
  return (err) => {
    if (typeof err !== 'object' || err === null) return err
    if (seen.has(err)) return seen.get(err)
    const explained = explain(err) ?? err
    seen.set(err, explained)
    if (typeof explained === 'object' && explained !== null) seen.set(explained, explained)
    if (explained !== err && (err as Error).message === 'Query read timeout') end()
    return explained
  }
}

type Callback = (err: unknown, ...rest: unknown[]) => void
type QueryFn = (...args: unknown[]) => unknown

/**
 * Runs one `client.query(...)` call (promise and callback forms) with its failure converted. Only the
 * calls whose error pg makes inside `query()` itself need this (a client that is closed or broken, a
 * `query_timeout`); a lost connection reaches queries through the client (see `AzurePgClient`), so an
 * ordinary query pays nothing. Submittables (pg-cursor, pg-query-stream) are passed through unwrapped:
 * a lost connection reaches them through the client, as an AzurePgError, like any query.
 */
export function queryConverted(query: QueryFn, args: unknown[], convert: (err: unknown) => unknown): unknown {
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
