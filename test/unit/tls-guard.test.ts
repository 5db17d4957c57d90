// The connect-time comparison itself: values that deep equality cannot tell apart are compared by identity.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSecureContext, rootCertificates } from 'node:tls'
import { assertSameSsl, copyOf } from '../../src/connect/tls-guard.js'
import { AzurePgError } from '../../src/errors.js'

describe('assertSameSsl', () => {
  const resolved = copyOf({ ca: [rootCertificates[0]], rejectUnauthorized: true, secureContext: createSecureContext({}), checkServerIdentity: () => undefined })
  it('accepts the same values', () => {
    assert.doesNotThrow(() => assertSameSsl({ ...resolved }, resolved))
  })
  it('refuses another SecureContext or function, a changed ca, an added or removed key', () => {
    const variants: Array<Record<string, unknown>> = [
      { ...resolved, secureContext: createSecureContext({}) },
      { ...resolved, checkServerIdentity: () => undefined },
      { ...resolved, ca: [rootCertificates[1]] },
      { ...resolved, ca: [rootCertificates[0], rootCertificates[1]] },
      { ...resolved, session: undefined },
      Object.fromEntries(Object.entries(resolved).filter(([k]) => k !== 'rejectUnauthorized')),
    ]
    for (const v of variants) assert.throws(() => assertSameSsl(v, resolved), (e: unknown) => e instanceof AzurePgError && e.code === 'INSECURE_TLS')
  })
  it('makes copies without a prototype', () => {
    assert.equal(Object.getPrototypeOf(copyOf({ a: 1 })), null)
  })
})
