import { isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { AzurePgError, invalidConfig } from '../errors.js'
import { isTruthy, type Setting } from './setting.js'
import { acceptSsl, type AcceptedSsl } from './ssl-options.js'

/** libpq's sslmode values, plus node-postgres's `no-verify`. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full' | 'no-verify'

/** Where the trusted roots come from. */
export type TrustSpec =
  | { readonly kind: 'azure' }
  | { readonly kind: 'system'; readonly origin: string }
  | { readonly kind: 'file'; readonly path: string; readonly origin: string }
  | { readonly kind: 'inline'; readonly ca: NonNullable<ConnectionOptions['ca']> }

/** Everything about TLS the policy looks at: the final, merged configuration. */
export interface TlsInput {
  readonly host: string
  readonly sslmode: Setting | undefined
  /** The `ssl` option as read once by `readSslOption`: a plain copy. */
  readonly ssl: boolean | Record<string, unknown> | undefined
  readonly sslrootcert: Setting | undefined
  readonly trustServerCertificate: Setting | undefined
  readonly sslfactory: Setting | undefined
  readonly clientCertificate: Setting | undefined
  readonly sslnegotiation: Setting | undefined
}

/** The policy's verdict: always verify-full, plus what the user asked for and how to build trust. */
export interface TlsDecision {
  /** The mode the user asked for (after aliases); the connection always behaves as verify-full. */
  readonly requestedMode: SslMode
  /** True when `require` or `verify-ca` was raised to verify-full. */
  readonly strengthened: boolean
  readonly trust: TrustSpec
  /** TLS options the user set that passed the allow-list (versions, ciphers, groups), without `ca` and `servername`. */
  readonly extraSsl: Omit<AcceptedSsl, 'ca'>
  /** `auto` (the default) learns per server whether direct TLS works; `postgres` and `direct` keep libpq's meaning. */
  readonly sslnegotiation: 'auto' | 'postgres' | 'direct'
  /** The TLS server name (SNI and identity check): the host, or undefined for an IP literal, which is checked against the certificate's IP SANs. */
  readonly servername: string | undefined
}

const MODE_ALIASES: Readonly<Record<string, SslMode>> = {
  disable: 'disable', allow: 'allow', prefer: 'prefer',
  require: 'require', required: 'require',
  verifyca: 'verify-ca', verifyfull: 'verify-full',
  noverify: 'no-verify',
}

const INSECURE_MODES: ReadonlySet<SslMode> = new Set(['disable', 'allow', 'prefer', 'no-verify'])

const SECURE_HINT = 'Remove it, or use sslmode=verify-full (the default): Azure requires TLS, and azure-pg-tls only connects with the server certificate and host name verified.'

/**
 * Normalises an sslmode as libpq, JDBC and Npgsql spell it (`verify-full`, `VerifyFull`, `Require`,
 * `required`) to libpq's name. Unknown values are `INVALID_CONFIG`.
 */
function normaliseSslMode(setting: Setting): SslMode {
  const mode = MODE_ALIASES[setting.value.toLowerCase().replace(/[-_\s]/g, '')]
  if (mode === undefined) {
    throw invalidConfig(`sslmode (from ${setting.origin}) is not a known sslmode.`,
      'Use sslmode=verify-full, or leave it unset: verify-full is the default.')
  }
  return mode
}

function insecure(what: string, hint = SECURE_HINT): AzurePgError {
  return new AzurePgError('INSECURE_TLS', `${what} would connect without verified TLS; refused before connecting.`, { hint })
}

/**
 * Decides the TLS settings: refuses (`INSECURE_TLS`) anything below verify-full wherever it came from,
 * raises `require`/`verify-ca` to verify-full, and says where trust comes from. Pure.
 */
export function decideTls(input: TlsInput): TlsDecision {
  if (input.host.startsWith('/')) {
    throw insecure('The host is a Unix-socket path, which', 'Connect to the server by its host name (<server>.postgres.database.azure.com).')
  }
  const requestedMode = input.sslmode === undefined ? 'verify-full' : normaliseSslMode(input.sslmode)
  if (INSECURE_MODES.has(requestedMode)) {
    throw insecure(`sslmode "${requestedMode}" (from ${input.sslmode?.origin ?? 'the configuration'})`)
  }
  if (input.trustServerCertificate !== undefined && isTruthy(input.trustServerCertificate.value)) {
    throw insecure(`Trust Server Certificate=true (from ${input.trustServerCertificate.origin})`,
      'Remove Trust Server Certificate from the connection string: azure-pg-tls trusts Azure\'s root CAs and verifies the server.')
  }
  if (input.sslfactory !== undefined && /NonValidating/i.test(input.sslfactory.value)) {
    throw insecure(`A NonValidatingFactory sslfactory (from ${input.sslfactory.origin})`,
      'Remove sslfactory from the connection string: azure-pg-tls verifies the server against Azure\'s root CAs.')
  }
  if (input.clientCertificate !== undefined) {
    throw invalidConfig(`${input.clientCertificate.origin} sets a client certificate, which Azure Database for PostgreSQL does not support.`,
      'Remove sslcert/sslkey: authenticate with a password or a Microsoft Entra ID token.')
  }
  const { ca, ...extraSsl } = acceptSsl(input.ssl, input.host, 'option "ssl"')
  let trust: TrustSpec = { kind: 'azure' }
  if (ca !== undefined) {
    if (input.sslrootcert?.source === 'option') {
      throw invalidConfig('Both ssl.ca and sslrootcert are set.', 'Pass one of them: sslrootcert names a PEM file, ssl.ca holds the PEM text.')
    }
    trust = { kind: 'inline', ca }
  } else if (input.sslrootcert !== undefined) {
    trust = input.sslrootcert.value === 'system'
      ? { kind: 'system', origin: input.sslrootcert.origin }
      : { kind: 'file', path: input.sslrootcert.value, origin: input.sslrootcert.origin }
  }

  let sslnegotiation: 'auto' | 'postgres' | 'direct' = 'auto'
  if (input.sslnegotiation !== undefined) {
    const v = input.sslnegotiation.value.toLowerCase()
    if (v !== 'auto' && v !== 'postgres' && v !== 'direct') {
      throw invalidConfig(`sslnegotiation (from ${input.sslnegotiation.origin}) is not "auto", "postgres" or "direct".`,
        'Use sslnegotiation=auto (the default), postgres or direct.')
    }
    sslnegotiation = v
  }
  return {
    requestedMode,
    strengthened: requestedMode === 'require' || requestedMode === 'verify-ca',
    trust,
    extraSsl,
    sslnegotiation,
    servername: servernameFor(input.host),
  }
}

/** The name TLS sends as SNI and checks the certificate against: the host, unless it is an IP literal. */
function servernameFor(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined
}
