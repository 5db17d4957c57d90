// The last line of defence, just before pg opens a socket: the TLS options, negotiation and
// destination pg is about to use must be exactly those the SDK resolved; and once TLS is up, the
// session must be verified (and, for direct TLS, speak ALPN "postgresql") before pg sends a byte.
import type { TLSSocket } from 'node:tls'
import { AzurePgError } from '../errors.js'
import { isSdkContext } from './tls-context.js'

/** What a client was built to connect with; compared with what pg will use, just before connecting. */
export interface TlsExpectation {
  /** A private copy of the `ssl` options: nobody else holds a reference to it. */
  readonly ssl: Readonly<Record<string, unknown>>
  readonly negotiation: 'postgres' | 'direct'
  readonly host: string
  readonly port: number
}

/** Identity checks the SDK itself made (for an IP-literal host reached through another address). */
const sdkIdentityChecks = new WeakSet<object>()

/** Marks an identity check as the SDK's own, so the guard accepts it where it refuses a user's. */
export function sdkIdentityCheck<F extends object>(check: F): F {
  sdkIdentityChecks.add(check)
  return check
}

function refused(what: string): AzurePgError {
  return new AzurePgError('INSECURE_TLS', `${what}; refused before connecting.`, {
    hint: 'Do not change a client\'s TLS settings, host or port after creation: create a new client with the settings you need (they are verified then).',
  })
}

/** A private copy of an `ssl` object: arrays copied, so later changes to the original are seen as changes. */
export function copyOf(ssl: Record<string, unknown>): Record<string, unknown> {
  // No prototype: reading a key the copy does not have must not find a polluted Object.prototype's.
  const copy = Object.create(null) as Record<string, unknown>
  for (const [k, v] of Object.entries(ssl)) copy[k] = Array.isArray(v) ? [...(v as unknown[])] : v
  return copy
}

/**
 * One TLS option value the same as the resolved one: arrays element by element, Buffers by bytes, strings
 * and numbers by value, and everything else (a SecureContext, a function) by identity. Deep equality would
 * call any two SecureContexts equal: their native handles have nothing it can compare.
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]))
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  return a === b
}

/** Refuses (`INSECURE_TLS`) TLS options that differ from the SDK's private copy of the resolved ones. */
export function assertSameSsl(actual: unknown, resolved: Readonly<Record<string, unknown>>): void {
  const ok = typeof actual === 'object' && actual !== null && (() => {
    const a = copyOf(actual as Record<string, unknown>)
    const keys = new Set([...Object.keys(a), ...Object.keys(resolved)])
    return [...keys].every((k) => Object.hasOwn(a, k) === Object.hasOwn(resolved, k) && sameValue(a[k], resolved[k]))
  })()
  if (!ok) throw refused('The client\'s TLS options were changed after it was created')
}

/**
 * The expectation for a configuration, after checking that it verifies: `rejectUnauthorized: true`,
 * a non-empty `ca`, TLS 1.2 or newer, and no identity check but the SDK's own. For clients built from
 * a prepared configuration, and for an `AzurePgClient` constructed directly with any other.
 */
export function expectationOf(config: { ssl?: unknown; sslnegotiation?: unknown; host?: unknown; port?: unknown }): TlsExpectation {
  const ssl = config.ssl
  if (typeof ssl !== 'object' || ssl === null) throw refused('A client configuration without TLS options')
  const s = ssl as Record<string, unknown>
  if (s['rejectUnauthorized'] !== true) throw refused('A client configuration whose ssl.rejectUnauthorized is not true')
  const ca = s['ca']
  if (ca === undefined || ca === null || ca === '' || (Array.isArray(ca) && ca.length === 0)) throw refused('A client configuration without trusted roots (ssl.ca)')
  if (s['minVersion'] !== 'TLSv1.2' && s['minVersion'] !== 'TLSv1.3') throw refused('A client configuration allowing TLS older than 1.2')
  const check = s['checkServerIdentity']
  if (check !== undefined && !(typeof check === 'function' && sdkIdentityChecks.has(check))) throw refused('A client configuration with its own checkServerIdentity')
  for (const key of ['pskCallback', 'host', 'session', 'secureProtocol']) {
    if (s[key] !== undefined) throw refused(`A client configuration with ssl.${key}`)
  }
  // A context holds its own roots: only one the SDK built from the resolved trust set is accepted.
  if (s['secureContext'] !== undefined && !isSdkContext(s['secureContext'])) throw refused('A client configuration with its own ssl.secureContext')
  const negotiation = config.sslnegotiation === 'direct' ? 'direct' : 'postgres'
  return { ssl: Object.freeze(copyOf(s)), negotiation, host: String(config.host), port: Number(config.port) }
}

/** What pg is about to connect with: its Client's fields and its Connection's. */
export interface PgConnectState {
  readonly host: unknown
  readonly port: unknown
  readonly ssl: unknown
  readonly connectionSsl: unknown
  readonly connectionNegotiation: unknown
}

/** Refuses (`INSECURE_TLS`) unless pg is about to use exactly the expected TLS options, negotiation and destination. */
export function checkBeforeConnect(actual: PgConnectState, expected: TlsExpectation): void {
  for (const ssl of [actual.ssl, actual.connectionSsl]) assertSameSsl(ssl, expected.ssl)
  if (actual.connectionNegotiation !== expected.negotiation) throw refused('The client\'s TLS negotiation was changed after it was created')
  if (actual.host !== expected.host || Number(actual.port) !== expected.port) throw refused('The client\'s host or port was changed after it was created')
}

/**
 * Checks a TLS session at the moment its handshake completes, before any application byte is
 * flushed: it must be verified (whatever NODE_TLS_REJECT_UNAUTHORIZED says), and a direct TLS
 * session must have selected ALPN "postgresql", as libpq requires.
 */
export function verifySession(socket: TLSSocket, negotiation: 'postgres' | 'direct'): AzurePgError | undefined {
  if (!socket.authorized) {
    return new AzurePgError('TLS_VERIFY_FAILED', 'The TLS session was not verified.', { hint: 'Remove NODE_TLS_REJECT_UNAUTHORIZED=0 from the environment; azure-pg-tls only uses verified sessions.', reason: 'other' })
  }
  if (negotiation === 'direct' && socket.alpnProtocol !== 'postgresql') {
    return new AzurePgError('CONNECTION_FAILED', 'The server accepted direct TLS without selecting ALPN "postgresql": it may not be PostgreSQL.', {
      hint: 'Use sslnegotiation=postgres (the default), or check that host and port point at a PostgreSQL 17+ server.', reason: 'no-alpn',
    })
  }
  return undefined
}
