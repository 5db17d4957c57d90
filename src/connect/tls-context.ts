// One TLS context per trust set and TLS settings, shared by every connection that uses them. pg would
// otherwise hand `ca` to tls.connect, which builds a new context (parsing every root) per connection.
import { createHash } from 'node:crypto'
import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls'
import { invalidConfig } from '../errors.js'

/** Contexts this SDK built: the connect-time guard accepts these, and only these, as `secureContext`. */
const sdkContexts = new WeakSet<object>()

/** True for a context built by {@link secureContextFor}. */
export function isSdkContext(value: unknown): boolean {
  return typeof value === 'object' && value !== null && sdkContexts.has(value)
}

/** A stable key for a trust set (the roots' bytes), computed once per prepared configuration. */
export function trustKey(ca: NonNullable<ConnectionOptions['ca']>): string {
  const hash = createHash('sha256')
  for (const item of Array.isArray(ca) ? ca : [ca]) hash.update(typeof item === 'string' ? item : Buffer.from(item)).update('\0')
  return hash.digest('hex')
}

/** The context-level TLS settings a context is built with. */
export interface ContextSettings {
  readonly ca: NonNullable<ConnectionOptions['ca']>
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  readonly maxVersion?: ConnectionOptions['maxVersion']
  readonly ciphers?: string
  readonly ecdhCurve?: string
}

const contexts = new Map<string, SecureContext>()
/** Distinct contexts kept at most; a process rarely has more than a few trust sets. */
const MAX_CONTEXTS = 64

/** The shared context for a trust set and settings, built on first use. */
export function secureContextFor(trust: string, s: ContextSettings): SecureContext {
  const key = JSON.stringify([trust, s.minVersion, s.maxVersion ?? '', s.ciphers ?? '', s.ecdhCurve ?? ''])
  let context = contexts.get(key)
  if (context === undefined) {
    try {
      context = createSecureContext({
        ca: s.ca, minVersion: s.minVersion,
        ...(s.maxVersion !== undefined && { maxVersion: s.maxVersion }),
        ...(s.ciphers !== undefined && { ciphers: s.ciphers }),
        ...(s.ecdhCurve !== undefined && { ecdhCurve: s.ecdhCurve }),
      })
    } catch (cause) {
      // OpenSSL's own word on a cipher list or group list it cannot use (e.g. no cipher matches).
      throw invalidConfig('OpenSSL refused the TLS settings (ssl.ciphers, ssl.ecdhCurve or the versions): none of them can be used.',
        'Check ssl.ciphers and ssl.ecdhCurve against `openssl ciphers`, or leave them unset.', { cause })
    }
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string)
    contexts.set(key, context)
    sdkContexts.add(context)
  }
  return context
}
