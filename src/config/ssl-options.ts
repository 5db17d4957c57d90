// The user's `ssl` option: read once into a plain copy, then checked against an allow-list. Only
// settings that cannot weaken the chain check, the host-name check or the encryption are kept;
// anything else is refused, naming the key (never its value).
import type { ConnectionOptions } from 'node:tls'
import { AzurePgError, invalidConfig } from '../errors.js'
import { parseCertificates } from '../util/pem.js'

/** The `ssl` settings azure-pg-tls accepts from a user, after validation. */
export interface AcceptedSsl {
  readonly ca?: NonNullable<ConnectionOptions['ca']>
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3'
  readonly maxVersion?: 'TLSv1.2' | 'TLSv1.3'
  readonly ciphers?: string
  readonly ecdhCurve?: string
}

/** The keys of `ssl` that are accepted (values checked below); README "Security model" lists them. */
const ACCEPTED_SSL_KEYS: readonly string[] = ['ca', 'rejectUnauthorized', 'servername', 'minVersion', 'maxVersion', 'ciphers', 'ecdhCurve']

/** Keys refused as insecure: each one can skip or replace a check. */
const INSECURE_KEYS: Readonly<Record<string, string>> = {
  checkServerIdentity: 'Remove checkServerIdentity: azure-pg-tls checks the host name against the certificate itself. For a private endpoint, set host to the server name and hostaddr to the IP address.',
  pskCallback: 'Remove pskCallback: a pre-shared-key handshake has no certificate, so the server would not be verified.',
  secureContext: 'Remove secureContext: it replaces the trusted roots; use sslrootcert or ssl.ca instead.',
  host: 'Remove ssl.host: it changes the name the certificate is checked against; set host (and hostaddr) instead.',
  secureProtocol: 'Remove secureProtocol; use minVersion "TLSv1.2" or "TLSv1.3" to pin a version.',
  session: 'Remove ssl.session: a resumed session skips the certificate check of the handshake.',
}

/** Client-certificate keys: Azure does not support client certificates. */
const CLIENT_CERT_KEYS = new Set(['key', 'cert', 'pfx', 'passphrase'])

const WEAK_VERSIONS = new Set(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1'])

/**
 * Cipher-string words (or parts of suite names) for suites without encryption or authentication, or
 * below modern strength. `ALL` and `COMPLEMENTOF…` are refused too: they pull such suites in.
 */
const WEAK_CIPHER_PART = /(?:^|[-+])(?:e?NULL|aNULL|ADH|AECDH|anon|EXP(?:ORT)?\d*|RC4|DES|3DES|MD5|PSK|SRP|kPSK|aPSK|LOW|ALL|COMPLEMENTOF\w*)(?:$|[-+])/i

/** Appended to every accepted cipher list, so macros such as HIGH can never bring such suites back. */
const CIPHER_EXCLUSIONS = ':!aNULL:!eNULL:!EXPORT:!LOW:!RC4:!DES:!3DES:!MD5:!PSK:!SRP'

/** Groups (curves) that keep at least 128-bit security; `auto` is Node's default list. */
const GROUPS = new Set([
  'auto', 'X25519', 'X448', 'P-256', 'P-384', 'P-521', 'prime256v1', 'secp256r1', 'secp384r1', 'secp521r1',
  'X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024', 'brainpoolP256r1', 'brainpoolP384r1', 'brainpoolP512r1',
  'brainpoolP256r1tls13', 'brainpoolP384r1tls13', 'brainpoolP512r1tls13', 'ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192',
])

function insecure(what: string, hint: string): AzurePgError {
  return new AzurePgError('INSECURE_TLS', `${what} would connect without verified TLS; refused before connecting.`, { hint })
}

/** A key as it may be named in a message: identifiers only, since anything else may be a pasted secret. */
export function keyForMessage(key: string): string {
  return /^[A-Za-z_][\w.-]{0,40}$/.test(key) ? `ssl.${key}` : 'an ssl key'
}

/**
 * Reads the `ssl` option exactly once into a plain copy: each own enumerable key once, each value
 * once (so a getter cannot answer the check one way and the connection another), arrays copied.
 */
export function readSslOption(value: unknown): boolean | Record<string, unknown> | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidConfig('The ssl option is neither true nor an object of TLS settings.', 'Leave ssl unset (TLS is always on), or pass an object such as { ca }.')
  }
  const copy = Object.create(null) as Record<string, unknown>
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    copy[key] = Array.isArray(v) ? [...(v as unknown[])] : v
  }
  return copy
}

function version(key: 'minVersion' | 'maxVersion', v: unknown): 'TLSv1.2' | 'TLSv1.3' {
  if (typeof v === 'string' && WEAK_VERSIONS.has(v)) throw insecure(`ssl.${key} below TLS 1.2`, 'Remove it, or use "TLSv1.2" or "TLSv1.3": Azure refuses TLS older than 1.2.')
  if (v !== 'TLSv1.2' && v !== 'TLSv1.3') throw invalidConfig(`ssl.${key} is not "TLSv1.2" or "TLSv1.3".`, 'Use "TLSv1.2" or "TLSv1.3".')
  return v
}

/** PEM texts already found to hold certificates: a factory called per request must not parse them each time. */
const knownGood = new Set<string>()
const MAX_KNOWN = 256

function holdsCertificates(item: unknown): boolean {
  if (typeof item === 'string' && knownGood.has(item)) return true
  if (typeof item !== 'string' && !Buffer.isBuffer(item)) return false
  try {
    if (parseCertificates(item).length === 0) return false
  } catch {
    return false
  }
  if (typeof item === 'string') {
    if (knownGood.size >= MAX_KNOWN) knownGood.clear()
    knownGood.add(item)
  }
  return true
}

function caValue(v: unknown): NonNullable<ConnectionOptions['ca']> {
  const items = Array.isArray(v) ? v : [v]
  const usable = items.length > 0 && items.every(holdsCertificates)
  if (!usable) {
    // An empty or unparsable ca would make Node fall back to its whole store (and NODE_EXTRA_CA_CERTS).
    throw invalidConfig('ssl.ca does not hold PEM certificates (it is empty, or a part of it is not a certificate).',
      'Pass the roots as PEM text (or an array of them), or use sslrootcert with a file; leave ssl.ca unset to trust Azure\'s roots.')
  }
  return v as NonNullable<ConnectionOptions['ca']>
}

function cipherValue(v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '') throw invalidConfig('ssl.ciphers is not a cipher list.', 'Use an OpenSSL cipher list, e.g. "ECDHE+AESGCM", or leave it unset.')
  // OpenSSL reads @SECLEVEL anywhere in the list, also glued to a term ("DEFAULT@SECLEVEL=0").
  for (const level of v.matchAll(/@SECLEVEL=(\d+)/gi)) {
    if (Number(level[1]) < 2) throw insecure('ssl.ciphers lowering the security level', 'Remove @SECLEVEL below 2 from ssl.ciphers.')
  }
  for (const term of v.split(/[:,\s]+/)) {
    const raw = term.split('@')[0] ?? ''
    if (raw === '' || raw.startsWith('!') || raw.startsWith('-')) continue
    if (WEAK_CIPHER_PART.test(raw.replace(/^\+/, ''))) {
      throw insecure('ssl.ciphers naming a suite without encryption, authentication or modern strength', 'Remove NULL, anonymous, export, RC4, DES and PSK suites from ssl.ciphers, or leave it unset.')
    }
  }
  return v
}

function groupsValue(v: unknown): string {
  if (typeof v !== 'string' || !v.split(':').every((g) => GROUPS.has(g))) {
    throw invalidConfig('ssl.ecdhCurve names a group that is unknown or weaker than 128-bit security.', 'Use groups such as "X25519:P-256", or leave it unset.')
  }
  return v
}

/**
 * Validates a copy made by {@link readSslOption}: refuses `false`, every key that could weaken
 * verification (`INSECURE_TLS`) and every key not on the allow-list (`INVALID_CONFIG`), naming the
 * key; returns the accepted settings. `host` is what `servername` must equal.
 */
export function acceptSsl(ssl: boolean | Record<string, unknown> | undefined, host: string, origin: string): AcceptedSsl {
  if (ssl === undefined || ssl === true) return Object.create(null) as AcceptedSsl
  if (ssl === false) throw insecure(`ssl: false (${origin})`, 'Remove it: TLS is always on with azure-pg-tls.')
  // No prototype: what is not set here must not be found on a polluted Object.prototype by a destructuring reader.
  const out = Object.create(null) as { -readonly [K in keyof AcceptedSsl]: AcceptedSsl[K] }
  for (const [key, v] of Object.entries(ssl)) {
    if (v === undefined) continue
    if (key in INSECURE_KEYS) throw insecure(`${keyForMessage(key)} (${origin})`, INSECURE_KEYS[key] ?? '')
    if (CLIENT_CERT_KEYS.has(key)) {
      throw invalidConfig(`${keyForMessage(key)} (${origin}) sets a client certificate, which Azure Database for PostgreSQL does not support.`,
        'Remove it: authenticate with a password or a Microsoft Entra ID token.')
    }
    switch (key) {
      case 'rejectUnauthorized':
        if (v === false) throw insecure(`ssl.rejectUnauthorized: false (${origin})`, 'Remove it: azure-pg-tls always verifies the server certificate.')
        if (v !== true) throw invalidConfig('ssl.rejectUnauthorized is not true.', 'Remove it: the certificate is always verified.')
        break
      case 'ca': out.ca = caValue(v); break
      case 'servername':
        if (typeof v !== 'string' || v.toLowerCase() !== host.toLowerCase()) {
          throw invalidConfig('ssl.servername differs from the host.', 'Set host to the name in the server certificate and hostaddr to the address to connect to.')
        }
        break // checked only: the server name is always derived from the host
      case 'minVersion': out.minVersion = version('minVersion', v); break
      case 'maxVersion': out.maxVersion = version('maxVersion', v); break
      case 'ciphers': out.ciphers = `${cipherValue(v)}${CIPHER_EXCLUSIONS}`; break
      case 'ecdhCurve': out.ecdhCurve = groupsValue(v); break
      default:
        throw invalidConfig(`${keyForMessage(key)} (${origin}) is not a TLS setting azure-pg-tls accepts.`,
          `Accepted ssl settings: ${ACCEPTED_SSL_KEYS.join(', ')}.`)
    }
  }
  if (out.minVersion === 'TLSv1.3' && out.maxVersion === 'TLSv1.2') throw invalidConfig('ssl.maxVersion is below ssl.minVersion.', 'Raise maxVersion or remove it.')
  return out
}
