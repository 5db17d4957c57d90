import { AzurePgError, type AzurePgErrorCode, type TlsFailureReason } from './errors.js'
import type { ServerType } from './config/azure-host.js'

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

/** One row of the error-to-fix table: which errors it explains, and how. */
export interface ErrorRule {
  readonly code: AzurePgErrorCode
  readonly reason?: TlsFailureReason
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

const where = (ctx: ConnectContext): string =>
  ctx.connectHost === ctx.host ? `${ctx.host}:${ctx.port}` : `${ctx.host} (${ctx.connectHost}):${ctx.port}`

/**
 * The error-to-fix table. Order matters: the first matching row explains the error. Server messages
 * are matched on Azure's exact texts (docs/azure-facts.md "Error texts users meet").
 */
export const ERROR_RULES: readonly ErrorRule[] = [
  {
    code: 'TLS_VERIFY_FAILED', reason: 'hostname',
    matches: (e) => e.code === 'ERR_TLS_CERT_ALTNAME_INVALID',
    message: (ctx, e) => `The server certificate at ${where(ctx)} is not valid for the host name "${ctx.host}": ${e.message}`,
    hint: () => 'Connect with the name the certificate carries (<server>.postgres.database.azure.com); for a private endpoint or an IP address, set host to that name and hostaddr to the address.',
  },
  {
    code: 'TLS_VERIFY_FAILED', reason: 'expired',
    matches: (e) => e.code === 'CERT_HAS_EXPIRED',
    message: (ctx) => `The server certificate at ${where(ctx)} (or one in its chain) has expired.`,
    hint: () => 'Check this machine\'s clock; an Azure server never presents an expired certificate, so otherwise something else is answering for it.',
  },
  {
    code: 'TLS_VERIFY_FAILED', reason: 'not-yet-valid',
    matches: (e) => e.code === 'CERT_NOT_YET_VALID',
    message: (ctx) => `The server certificate at ${where(ctx)} is not valid yet.`,
    hint: () => 'Check this machine\'s clock and time zone.',
  },
  {
    code: 'TLS_VERIFY_FAILED', reason: 'unknown-ca',
    matches: (e) => e.code !== undefined && UNKNOWN_CA_CODES.has(e.code),
    message: (ctx, e) => `The server certificate at ${where(ctx)} does not chain to a trusted root (trusted: ${ctx.trust}; ${e.code ?? 'unknown CA'}).`,
    hint: () => 'For an Azure server, remove sslrootcert and ssl.ca so Azure\'s roots are trusted; if they are already in use, something between you and Azure (a TLS-inspecting proxy?) presents its own certificate.',
  },
  {
    code: 'SERVER_REFUSED_TLS',
    matches: (e) => e.message.includes('The server does not support SSL connections'),
    message: (ctx) => `The server at ${where(ctx)} answered the TLS request with "N": it does not offer TLS.`,
    hint: () => 'Check the host and port point at the Azure server (port 5432, or 6432 for PgBouncer); a server with TLS off is refused rather than used unencrypted.',
  },
  {
    code: 'CONNECTION_FAILED',
    matches: (e) => e.message.includes('There was an error establishing an SSL connection'),
    message: (ctx) => `The server at ${where(ctx)} gave an invalid answer to the TLS request: it does not look like PostgreSQL.`,
    hint: () => 'Check the host and port point at the Azure PostgreSQL server.',
  },
  {
    code: 'AUTH_FAILED',
    matches: (e) => e.message.includes('Invalid Username specified'),
    message: (ctx) => `The Azure gateway at ${where(ctx)} rejected the user name "${ctx.user}": Single Server wants <user>@<server>.`,
    hint: () => "Pass serverType: 'single' so azure-pg-tls appends @<server>, or write the user as <user>@<server>.",
  },
  {
    code: 'SERVER_REQUIRES_TLS',
    matches: (e) => e.message.includes('SSL connection is required') || (/no pg_hba\.conf entry/.test(e.message) && /no encryption|SSL off/.test(e.message)),
    message: (ctx, e) => `The server at ${where(ctx)} requires TLS and reports that this connection did not use it: ${e.message}`,
    hint: () => 'Something between this client and the server removed TLS; connect directly to the Azure server.',
  },
  {
    code: 'ACCESS_DENIED',
    matches: (e) => /no pg_hba\.conf entry/.test(e.message),
    message: (ctx, e) => `The server at ${where(ctx)} does not admit this connection: ${e.message}`,
    hint: () => "Check the server's firewall rules admit this client's address, and that the user and database exist.",
  },
  {
    code: 'AUTH_FAILED',
    matches: (e) => e.code === '28P01' || e.code === '28000' || /password authentication failed|role .* does not exist/.test(e.message),
    message: (ctx, e) => `The server at ${where(ctx)} rejected the login of "${ctx.user}": ${e.message}`,
    hint: (ctx) => ctx.entra === true
      ? `Check that the Entra principal "${ctx.user}" was created on the server (SELECT * FROM pgaadauth_create_principal('<name>', false, false)) and that the user name matches the token's (case-sensitive).`
      : ctx.serverType === 'auto' && !ctx.user.includes('@')
        ? "Check the user name and password; on Single Server also pass serverType: 'single' (user@server)."
        : 'Check the user name and password.',
  },
  {
    code: 'DATABASE_NOT_FOUND',
    matches: (e) => e.code === '3D000',
    message: (ctx, e) => `The server at ${where(ctx)} has no such database: ${e.message}`,
    hint: () => 'Set database (or the connection string\'s dbname) to an existing database; Azure creates "postgres".',
  },
  {
    code: 'CONNECTION_FAILED',
    matches: (e) => e.code !== undefined && NETWORK_CODES.has(e.code),
    message: (ctx, e) => `Cannot reach ${where(ctx)} (${e.code ?? 'network error'}).`,
    hint: () => 'Check the host name, port and network path (firewall rules, private endpoint DNS).',
  },
]

function factsOf(err: unknown): ErrorFacts {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return { code: typeof code === 'string' ? code : undefined, message: err.message }
  }
  return { code: undefined, message: String(err) }
}

/** Replaces each secret that appears in a text, so no message can carry a password. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of secrets) if (s.length >= 1) out = out.split(s).join('[redacted]')
  return out
}

/**
 * Explains an error from `connect()` as an `AzurePgError` with a code, a one-line fix, and the
 * original as `cause`. `secrets` (the password, when known) are removed from the message.
 */
export function explainConnectError(err: unknown, ctx: ConnectContext, secrets: readonly string[] = []): AzurePgError {
  if (err instanceof AzurePgError) return err
  const facts = factsOf(err)
  const rule = ERROR_RULES.find((r) => r.matches(facts))
  if (rule === undefined) {
    return new AzurePgError('CONNECTION_FAILED', redact(`Connecting to ${where(ctx)} failed: ${facts.message}`, secrets), {
      hint: 'See the cause for details; check the host, port and credentials.', cause: err,
    })
  }
  return new AzurePgError(rule.code, redact(rule.message(ctx, facts), secrets), { hint: rule.hint(ctx), cause: err, reason: rule.reason })
}
