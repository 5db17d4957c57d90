// The error-to-fix table. Each row has an id; connect() maps a raw pg/Node error to a row once
// (explainConnectError), and the doctor asks for a row's advice by id (adviceFor).
import { inspect } from 'node:util'
import { AzurePgError, PHASE_WORDS, type AzurePgErrorCode, type ConnectionFailureReason, type ConnectionPhase, type FailureReason } from './errors.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, type ServerType } from './options.js'

/** What the error mapping knows about the connection attempt, for messages. Holds no secret. */
export interface ConnectContext {
  /** The server name the certificate is checked against. */
  readonly host: string
  /** Where the socket went (hostaddr, or host). */
  readonly connectHost: string
  readonly port: number
  /** The user name as sent. */
  readonly user: string
  readonly serverType: ServerType
  /** Where the trusted roots came from. */
  readonly trust: string
  /** The password is a Microsoft Entra ID token. */
  readonly entra?: boolean
}

interface ErrorFacts {
  readonly code: string | undefined
  readonly message: string
}

/** The ids of the table's rows: stable names the doctor and tests address advice by. */
export type AdviceId =
  | 'tls-hostname' | 'tls-expired' | 'tls-not-yet-valid' | 'tls-unknown-ca'
  | 'server-refused-tls' | 'tls-request-error' | 'not-postgres' | 'single-server-user-name' | 'server-requires-tls'
  | 'access-denied' | 'channel-binding-failed' | 'auth-failed' | 'database-not-found' | 'server-restarting' | 'timeout' | 'ended' | 'closed' | 'network'

/** One row of the error-to-fix table: which errors it explains, and how. */
interface ErrorRule {
  readonly id: AdviceId
  readonly code: AzurePgErrorCode
  readonly reason?: FailureReason | ((e: ErrorFacts) => FailureReason)
  readonly matches: (e: ErrorFacts) => boolean
  readonly message: (ctx: ConnectContext, e: ErrorFacts) => string
  readonly hint: (ctx: ConnectContext) => string
}

const UNKNOWN_CA_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED', 'INVALID_CA',
])
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])

function networkReason(code: string | undefined): ConnectionFailureReason {
  switch (code) {
    case 'ECONNREFUSED': return 'refused'
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'dns'
    case 'ETIMEDOUT': return 'timeout'
    case 'ECONNRESET': case 'EPIPE': return 'reset'
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'unreachable'
    default: return 'other'
  }
}

/** A server as messages name it: `host:port`, with the address connected to when `hostaddr` gave one. */
export const where = (ctx: Pick<ConnectContext, 'host' | 'connectHost' | 'port'>): string =>
  ctx.connectHost === ctx.host ? `${ctx.host}:${ctx.port}` : `${ctx.host} (${ctx.connectHost}):${ctx.port}`

/**
 * The error-to-fix table. Order matters: the first matching row explains the error. Server messages
 * are matched on Azure's exact texts (docs/azure-facts.md "Error messages users meet").
 */
const ERROR_RULES: readonly ErrorRule[] = [
  {
    id: 'tls-hostname', code: 'TLS_VERIFY_FAILED', reason: 'hostname',
    matches: (e) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    message: (ctx, e) => `The server certificate at ${where(ctx)} is not valid for the host name "${ctx.host}": ${e.message}`,
    hint: () => 'Connect with the name the certificate carries (<server>.postgres.database.azure.com); for a private endpoint or an IP address, set host to that name and hostaddr to the address.',
  },
  {
    id: 'tls-expired', code: 'TLS_VERIFY_FAILED', reason: 'expired',
    matches: (e) => e.code === 'CERT_HAS_EXPIRED',
    message: (ctx) => `The server certificate at ${where(ctx)} (or one in its chain) has expired.`,
    hint: () => 'Check this machine\'s clock; an Azure server never presents an expired certificate, so otherwise something else is answering for it.',
  },
  {
    id: 'tls-not-yet-valid', code: 'TLS_VERIFY_FAILED', reason: 'not-yet-valid',
    matches: (e) => e.code === 'CERT_NOT_YET_VALID',
    message: (ctx) => `The server certificate at ${where(ctx)} is not valid yet.`,
    hint: () => 'Check this machine\'s clock and time zone.',
  },
  {
    id: 'tls-unknown-ca', code: 'TLS_VERIFY_FAILED', reason: 'unknown-ca',
    matches: (e) => e.code !== undefined && UNKNOWN_CA_CODES.has(e.code),
    message: (ctx, e) => `The server certificate at ${where(ctx)} does not chain to a trusted root (trusted: ${ctx.trust}; ${e.code ?? 'unknown CA'}).`,
    hint: () => 'For an Azure server, remove sslrootcert and ssl.ca so Azure\'s roots are trusted; if they are already in use, something between you and Azure (a TLS-inspecting proxy?) presents its own certificate.',
  },
  {
    id: 'server-refused-tls', code: 'SERVER_REFUSED_TLS',
    matches: (e) => e.message.includes('The server does not support SSL connections'),
    message: (ctx) => `The server at ${where(ctx)} answered the TLS request with "N": it does not offer TLS.`,
    hint: () => 'Check the host and port point at the Azure server (port 5432, or 6432 for PgBouncer); a server with TLS off is refused rather than used unencrypted.',
  },
  {
    // libpq's text for the same answer; the server's message itself is never read (unauthenticated, before TLS).
    id: 'tls-request-error', code: 'CONNECTION_FAILED',
    matches: (e) => e.message === 'server sent an error response during SSL exchange',
    message: (ctx) => `The server at ${where(ctx)} answered the TLS request with an error message, in the clear; it was not read, as nothing vouches for it before TLS.`,
    hint: () => 'Retry in a moment (a server that cannot start a session answers so); if it persists, check the host and port point at the Azure server.',
  },
  {
    id: 'not-postgres', code: 'CONNECTION_FAILED',
    matches: (e) => e.message.includes('There was an error establishing an SSL connection'),
    message: (ctx) => `The server at ${where(ctx)} gave an invalid answer to the TLS request: it does not look like PostgreSQL.`,
    hint: () => 'Check the host and port point at the Azure PostgreSQL server.',
  },
  {
    id: 'single-server-user-name', code: 'AUTH_FAILED',
    matches: (e) => e.message.includes('Invalid Username specified'),
    message: (ctx) => `The Azure gateway at ${where(ctx)} rejected the user name "${ctx.user}": Single Server wants <user>@<server>.`,
    hint: () => "Pass serverType: 'single' so azure-pg-tls appends @<server>, or write the user as <user>@<server>.",
  },
  {
    id: 'server-requires-tls', code: 'SERVER_REQUIRES_TLS',
    matches: (e) => e.message.includes('SSL connection is required') || (/no pg_hba\.conf entry/.test(e.message) && /no encryption|SSL off/.test(e.message)),
    message: (ctx, e) => `The server at ${where(ctx)} requires TLS and reports that this connection did not use it: ${e.message}`,
    hint: () => 'Something between this client and the server removed TLS; connect directly to the Azure server.',
  },
  {
    id: 'access-denied', code: 'ACCESS_DENIED',
    matches: (e) => /no pg_hba\.conf entry/.test(e.message),
    message: (ctx, e) => `The server at ${where(ctx)} does not admit this connection: ${e.message}`,
    hint: () => "Check the server's firewall rules admit this client's address, and that the user and database exist.",
  },
  {
    // PostgreSQL's answer to a SCRAM-SHA-256-PLUS proof bound to another certificate than its own, or to a
    // client that says it could bind while the server offered binding (a mechanism list stripped on the way).
    id: 'channel-binding-failed', code: 'AUTH_FAILED',
    matches: (e) => /SCRAM channel binding (check failed|negotiation error)/.test(e.message),
    // The server's text ends the message: it arrives here as a finished sentence.
    message: (ctx, e) => `The server at ${where(ctx)} refused the login, which was bound to a TLS certificate that is not the server's own: something between this client and the server terminates TLS with a certificate this client trusts, and relays the login. The server said: ${e.message}`,
    hint: () => 'Find what intercepts TLS on the way (a TLS-inspecting proxy, or an attacker holding a trusted certificate) and connect around it; the bound login was useless to it.',
  },
  {
    id: 'auth-failed', code: 'AUTH_FAILED',
    // PgBouncer (Azure's, on port 6432) says "SASL authentication failed" with SQLSTATE 08P01.
    matches: (e) => e.code === '28P01' || e.code === '28000' || /password authentication failed|role .* does not exist|SASL authentication failed/.test(e.message),
    message: (ctx, e) => `The server at ${where(ctx)} rejected the login of "${ctx.user}": ${e.message}`,
    hint: (ctx) => ctx.entra === true
      ? `Check that the Entra principal "${ctx.user}" was created on the server (SELECT * FROM pgaadauth_create_principal('<name>', false, false)) and that the user name matches the token's (case-sensitive).`
      : ctx.serverType === 'auto' && !ctx.user.includes('@')
        ? "Check the user name and password; on Single Server also pass serverType: 'single' (user@server)."
        : 'Check the user name and password.',
  },
  {
    id: 'database-not-found', code: 'DATABASE_NOT_FOUND',
    matches: (e) => e.code === '3D000',
    message: (ctx, e) => `The server at ${where(ctx)} has no such database: ${e.message}`,
    hint: () => 'Set database (or the connection string\'s dbname) to an existing database; Azure creates "postgres".',
  },
  {
    // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 "the database system is starting up / shutting down".
    id: 'server-restarting', code: 'CONNECTION_FAILED', reason: (e) => (e.code === '57P03' ? 'refused' : 'closed'),
    matches: (e) => e.code !== undefined && /^57P0[123]$/.test(e.code),
    message: (ctx, e) => `The server at ${where(ctx)} is shutting down or starting up: ${e.message}`,
    hint: () => 'Retry in a moment: the server is restarting (maintenance, failover, scaling); a pool replaces the connections it lost.',
  },
  {
    id: 'timeout', code: 'CONNECTION_FAILED', reason: 'timeout',
    // pg's connectionTimeoutMillis, and pg-pool's checkout time limit.
    matches: (e) => /^timeout expired$|Connection terminated due to connection timeout|timeout exceeded when trying to connect/.test(e.message),
    message: (ctx) => `No complete answer from ${where(ctx)} within the connect time limit.`,
    hint: () => `Check the network path (firewall rules, private endpoint DNS, a proxy that accepts and stalls); raise connectionTimeoutMillis (default ${DEFAULT_CONNECT_TIMEOUT_MS}) only for a slow link.`,
  },
  {
    // pg's text when the client's own end() closed the connection: here, end() overtook connect().
    id: 'ended', code: 'CONNECTION_FAILED', reason: 'closed',
    matches: (e) => e.message === 'Connection terminated',
    message: (ctx) => `The client was ended (end()) before its connection to ${where(ctx)} was ready.`,
    hint: () => 'Call end() once connect() has settled, or ignore this error when the application meant to stop connecting.',
  },
  {
    id: 'closed', code: 'CONNECTION_FAILED', reason: 'closed',
    // Node says the second when the peer closes (FIN) in the middle of the TLS handshake, with code ECONNRESET.
    matches: (e) => /Connection terminated unexpectedly|disconnected before secure TLS connection was established/.test(e.message),
    message: (ctx) => `The connection to ${where(ctx)} was closed by the other end before it was ready.`,
    hint: () => 'Check the host and port point at the Azure server, and that nothing between (a proxy, a firewall) cuts connections.',
  },
  {
    id: 'network', code: 'CONNECTION_FAILED', reason: (e) => networkReason(e.code),
    matches: (e) => e.code !== undefined && NETWORK_CODES.has(e.code),
    message: (ctx, e) => `Cannot reach ${where(ctx)} (${e.code ?? 'network error'}).`,
    hint: () => 'Check the host name, port and network path (firewall rules, private endpoint DNS).',
  },
]

function factsOf(err: unknown): ErrorFacts {
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown }
    return { code: typeof code === 'string' ? code : undefined, message: typeof message === 'string' ? message : String(err) }
  }
  return { code: undefined, message: String(err) }
}

/** The advice of one row, for a failure the caller diagnosed itself (the doctor). */
export interface Advice {
  readonly code: AzurePgErrorCode
  readonly reason: FailureReason | undefined
  /** What to do, in one line: the same text `AzurePgError.hint` carries for the same failure. */
  readonly hint: string
}

/** The advice of the row `id`. */
export function adviceFor(id: AdviceId, ctx: ConnectContext): Advice {
  const rule = ERROR_RULES.find((r) => r.id === id)
  if (rule === undefined) throw new Error(`azure-pg-tls: no advice "${id}"`)
  return { code: rule.code, reason: typeof rule.reason === 'function' ? undefined : rule.reason, hint: rule.hint(ctx) }
}

/** The row that explains a raw error (or an object with its `code` and `message`), if any. */
export function classifyConnectError(err: unknown): AdviceId | undefined {
  return ruleFor(factsOf(err))?.id
}

/** The first row of the table that matches. */
function ruleFor(facts: ErrorFacts): ErrorRule | undefined {
  return ERROR_RULES.find((r) => r.matches(facts))
}

const usable = (secrets: readonly string[]): string[] => secrets.filter((s) => s.length > 0)

/** True when a secret occurs anywhere in a value as `util.inspect` shows it (message, stack, own properties, causes). */
function holdsSecret(value: unknown, secrets: readonly string[]): boolean {
  const list = usable(secrets)
  if (list.length === 0) return false
  const text = typeof value === 'string' ? value : inspect(value, { depth: 8, showHidden: false })
  return list.some((s) => text.includes(s))
}

/**
 * A text from outside the SDK (a server's or Node's message), or a stand-in when it holds a secret.
 * Never edited in place: blanking the secret out would tell the reader where it was, and what was around it.
 */
function foreignText(text: string, secrets: readonly string[]): string {
  return holdsSecret(text, secrets) ? '(the error text is withheld: it contained a secret)' : text
}

/**
 * A text from outside the SDK as a finished sentence, so that a sentence of the SDK's can follow it
 * (`…for user "myadmin". It failed during authentication.`): a full stop is added unless the text
 * already ends with `.`, `!` or `?`. Nothing else in it is changed.
 */
function asSentence(text: string): string {
  const trimmed = text.trimEnd()
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`
}

/** The original error to keep as `cause`, or a stand-in with its code when it holds a secret. */
function safeCause(err: unknown, secrets: readonly string[]): unknown {
  return holdsSecret(err, secrets) ? standIn(err) : err
}

/** What stands in for an error that holds a secret: a plain Error with only its code. */
function standIn(err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code
  return Object.assign(new Error('The original error is withheld: it contained a secret.'), typeof code === 'string' ? { code } : {})
}

/** The error with its phase added (to `phase` and, in words, to the message), unless it has one already. */
function withPhase(e: AzurePgError, phase: ConnectionPhase | undefined): AzurePgError {
  if (phase === undefined || e.phase !== undefined) return e
  return new AzurePgError(e.code, `${asSentence(e.message)} It failed ${PHASE_WORDS[phase]}.`, { hint: e.hint, cause: e.cause, reason: e.reason, errors: e.errors, phase })
}

/** The phase an error wrapped around one of ours carries (pg-pool wraps a timed-out connect in its own error). */
function phaseOfCause(err: unknown): ConnectionPhase | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause
  return cause instanceof AzurePgError ? cause.phase : undefined
}

/**
 * Explains an error from `connect()` as an `AzurePgError` with a code, a one-line fix, the phase the
 * connection was in (when known), and the original as `cause`. No secret (the password, a token)
 * reaches the message or the cause chain: a foreign text or a cause that holds one is replaced whole.
 */
export function explainConnectError(err: unknown, ctx: ConnectContext, secrets: readonly string[] = [], phase?: ConnectionPhase): AzurePgError {
  return withPhase(explainWithoutPhase(err, ctx, secrets), phase ?? phaseOfCause(err))
}

function explainWithoutPhase(err: unknown, ctx: ConnectContext, secrets: readonly string[]): AzurePgError {
  if (err instanceof AzurePgError) {
    if (!holdsSecret(err, secrets)) return err
    return new AzurePgError(err.code, foreignText(err.message, secrets), { hint: err.hint, cause: standIn(err), reason: err.reason, phase: err.phase })
  }
  const raw = factsOf(err)
  // Every row that quotes the foreign text ends its message with it: as a sentence, so the message reads on.
  const facts: ErrorFacts = { code: raw.code, message: asSentence(foreignText(raw.message, secrets)) }
  const cause = safeCause(err, secrets)
  const rule = ruleFor(raw)
  if (rule === undefined) {
    return new AzurePgError('CONNECTION_FAILED', `Connecting to ${where(ctx)} failed: ${facts.message}`, {
      hint: 'See the cause for details; check the host, port and credentials.', cause, reason: 'other',
    })
  }
  const reason = typeof rule.reason === 'function' ? rule.reason(raw) : rule.reason
  return new AzurePgError(rule.code, rule.message(ctx, facts), { hint: rule.hint(ctx), cause, reason })
}

/** pg's texts for a query on a client whose connection is gone (an earlier failure, or end()). */
const NOT_QUERYABLE = /is not queryable|Connection terminated$/

/**
 * Explains a failure of a query on a ready connection (phase `query`) when it is a failure of the
 * connection: lost (reset, closed, the server shutting down), or no answer within `query_timeout`.
 * SQL errors (a syntax error, a constraint violation) are the caller's own business and come back
 * `undefined`, to be passed on unchanged.
 */
export function explainQueryError(err: unknown, ctx: ConnectContext, secrets: readonly string[] = []): AzurePgError | undefined {
  if (err instanceof AzurePgError) return explainConnectError(err, ctx, secrets, 'query')
  // A server error of severity ERROR leaves the session open: it is the query's own, whatever its text
  // or SQLSTATE (RAISE can imitate both). Only FATAL and PANIC end a session. (A server whose messages
  // are not in English spells ERROR otherwise; its errors are then told apart by SQLSTATE alone.)
  if (typeof err === 'object' && err !== null && (err as { severity?: unknown }).severity === 'ERROR') return undefined
  const raw = factsOf(err)
  const text = asSentence(foreignText(raw.message, secrets))
  const retry = 'The query\'s outcome is unknown: run it again on a new connection if it is safe to repeat (a pool drops the broken client); if it recurs, check the network path.'
  const make = (reason: ConnectionFailureReason, message: string, hint = retry): AzurePgError =>
    new AzurePgError('CONNECTION_FAILED', `${asSentence(message)} It failed ${PHASE_WORDS.query}.`, { hint, cause: safeCause(err, secrets), reason, phase: 'query' })
  if (raw.message === 'Query read timeout') {
    return make('timeout', `No answer from ${where(ctx)} within query_timeout; the connection is closed, as its state is unknown.`,
      'Check the network path (a firewall or proxy that drops idle flows silently); raise query_timeout for queries that run longer.')
  }
  if (NOT_QUERYABLE.test(raw.message)) return make('closed', `The connection to ${where(ctx)} is closed already: ${text}`, 'Use a new client (a pool does this by itself).')
  const id = classifyConnectError(err)
  if (id === 'closed') return make('closed', `The connection to ${where(ctx)} was closed by the other end.`)
  if (id === 'server-restarting') return make('closed', `The server at ${where(ctx)} ended the connection: ${text}`)
  if (id === 'network') return make(networkReason(raw.code), `The connection to ${where(ctx)} was lost (${raw.code ?? 'network error'}).`)
  return undefined
}

/** The words of each failover signal, for a FAILOVER message. */
const FAILOVER_WORDS: Readonly<Record<'shutdown' | 'read-only', string>> = {
  shutdown: 'is shutting down or restarting (a failover, maintenance, scaling)',
  'read-only': 'refused a write as read-only: it is now a standby or in read-only mode (a failover promoted another server)',
}

/**
 * The `FAILOVER` error of a pooled statement whose server went away under it (`shutdown`: 57P01, 57P02,
 * 57P03) or turned read-only (`read-only`: 25006 from a server that reports itself a standby or
 * read-only). `err` is the server's error: its text is quoted unless it holds a secret, and it is kept
 * as `cause`. Nobody retries the statement: a COMMIT cut off this way may have been applied before the
 * server went away, so only the application knows whether its transaction is safe to run again.
 */
export function explainFailover(err: unknown, signal: 'shutdown' | 'read-only', ctx: ConnectContext, secrets: readonly string[] = []): AzurePgError {
  const text = foreignText(factsOf(err).message, secrets)
  return new AzurePgError('FAILOVER', `The server at ${where(ctx)} ${FAILOVER_WORDS[signal]}, and this statement failed (${text}); the pool is reconnecting: retry the transaction.`, {
    hint: 'Run the whole transaction again (pool.query, or a new pool.connect()); the pool has dropped its connections to that server. A COMMIT cut off this way may have been applied: make retried writes idempotent.',
    cause: safeCause(err, secrets), phase: 'query',
  })
}
