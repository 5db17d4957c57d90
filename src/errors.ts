/**
 * Stable error codes. Callers branch on these strings, so they never change meaning;
 * new failure kinds get new codes.
 */
export type AzurePgErrorCode =
  /** The configuration cannot be understood: malformed string, bad port, conflicting options, unreadable CA file. */
  | 'INVALID_CONFIG'
  /** The configuration asks for a connection without verified TLS; refused before any socket is opened. */
  | 'INSECURE_TLS'
  /** The user name carries an `@server` suffix naming a different server than the host. */
  | 'USER_SERVER_MISMATCH'
  /** The server's certificate did not verify (unknown CA, host name mismatch, expired, not yet valid). */
  | 'TLS_VERIFY_FAILED'
  /** The server answered the TLS request with `N`: it is not a TLS endpoint, or TLS is off. */
  | 'SERVER_REFUSED_TLS'
  /** The server reports that the client did not use TLS. */
  | 'SERVER_REQUIRES_TLS'
  /** The server rejected the credentials or the user name format. */
  | 'AUTH_FAILED'
  /**
   * The server asked for an authentication method the configuration does not allow (require_auth), one
   * that cannot be bound to the TLS session under channel_binding=require, or one node-postgres cannot
   * answer (GSSAPI, SSPI); nothing was sent in answer.
   */
  | 'AUTH_METHOD_REFUSED'
  /** The server's access rules (pg_hba / Azure firewall) do not admit this client, user or database. */
  | 'ACCESS_DENIED'
  /** The database named in the configuration does not exist. */
  | 'DATABASE_NOT_FOUND'
  /** The network connection could not be made or was lost (DNS, refused, timeout, reset). */
  | 'CONNECTION_FAILED'
  /** A certificate does not match its pinned SHA-256 fingerprint. */
  | 'CERT_PIN_MISMATCH'
  /** No usable root certificate could be found (all expired, or none could be obtained). */
  | 'CERT_UNAVAILABLE'
  /** `entra: true` needs `@azure/identity`, which is not installed. */
  | 'ENTRA_UNAVAILABLE'
  /** The Entra ID credential threw or returned no token. */
  | 'ENTRA_TOKEN_FAILED'
  /**
   * A pooled statement failed because its server went away under it (it said it is shutting down:
   * 57P01/57P02/57P03) or turned read-only (25006 from a server now a standby, after a failover promoted
   * another): the pool reconnects by itself; retry the transaction. Nothing was retried for you.
   */
  | 'FAILOVER'

/** Why a certificate failed to verify; set on `TLS_VERIFY_FAILED` errors. */
export type TlsFailureReason = 'unknown-ca' | 'hostname' | 'expired' | 'not-yet-valid' | 'other'

/**
 * Why a connection could not be made or was lost; set on `CONNECTION_FAILED` errors: no answer within
 * the time limit, refused, reset, closed by the peer, a name that does not resolve, no route, a direct
 * TLS server without ALPN "postgresql", a server that is not the kind `target_session_attrs` asks for
 * (a standby, or read-only, when a writable primary is wanted), or something else.
 */
export type ConnectionFailureReason = 'timeout' | 'refused' | 'reset' | 'closed' | 'dns' | 'unreachable' | 'no-alpn' | 'session-attrs' | 'other'

/** The `reason` of an {@link AzurePgError}. */
export type FailureReason = TlsFailureReason | ConnectionFailureReason

/**
 * Where in the life of a connection a failure happened, as the client saw it: opening the TCP
 * connection, waiting for the answer to the TLS request (SSLRequest), the TLS handshake, the startup
 * message until the server asks for credentials, the login until the server is ready, or a query
 * on a ready connection.
 */
export type ConnectionPhase = 'tcp' | 'tls-request' | 'tls-handshake' | 'startup' | 'authentication' | 'query'

/** Each {@link ConnectionPhase} in words, as messages say it. */
export const PHASE_WORDS: Readonly<Record<ConnectionPhase, string>> = {
  tcp: 'while opening the TCP connection',
  'tls-request': 'while waiting for the answer to the TLS request',
  'tls-handshake': 'during the TLS handshake',
  startup: 'after the startup message, before the server asked for credentials',
  authentication: 'during authentication',
  query: 'after login, during or between queries',
}

/** Options for {@link AzurePgError}. */
export interface AzurePgErrorOptions {
  /** One line saying what to do about it. */
  hint: string
  /** The error this one explains (a pg, TLS or system error). */
  cause?: unknown
  /** For `TLS_VERIFY_FAILED` and `CONNECTION_FAILED`: what kind of failure. */
  reason?: FailureReason
  /** When several attempts failed (one per root, say): every one of them, in order. */
  errors?: readonly Error[]
  /** For failures of a connection or a query on it: the phase it failed in. */
  phase?: ConnectionPhase
}

/**
 * The one error class of azure-pg-tls. `code` is stable for programs, `message` says what happened,
 * `hint` says what to do, and `cause` keeps the original error. Messages never contain passwords or tokens.
 */
export class AzurePgError extends Error {
  /** Stable machine-readable code. */
  readonly code: AzurePgErrorCode
  /** What to do about it, in one line. */
  readonly hint: string
  /** For `TLS_VERIFY_FAILED` and `CONNECTION_FAILED`: what kind of failure (see {@link FailureReason}). */
  readonly reason: FailureReason | undefined
  /** For a failure made of several (every root unavailable): each of them; empty otherwise. */
  readonly errors: readonly Error[]
  /**
   * For failures of a connection (connect, or a query on it): the phase it failed in (see
   * {@link ConnectionPhase}); undefined for failures before any socket (configuration, certificates).
   */
  readonly phase: ConnectionPhase | undefined

  constructor(code: AzurePgErrorCode, message: string, init: AzurePgErrorOptions) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.name = 'AzurePgError'
    this.code = code
    this.hint = init.hint
    this.reason = init.reason
    this.errors = init.errors ?? []
    this.phase = init.phase
  }

  /** `code: message Hint: …` on one line, the form a log line or a CLI wants. */
  override toString(): string {
    return `${this.name} [${this.code}]: ${this.message} ${this.hint}`
  }
}

/** Shorthand for the most common failure: a configuration that cannot be used as given. */
export function invalidConfig(message: string, hint: string, init: { cause?: unknown } = {}): AzurePgError {
  return new AzurePgError('INVALID_CONFIG', message, { hint, cause: init.cause })
}
