// A TokenCredential that hands out JWT-shaped tokens (real header.payload.signature strings) with
// chosen claims and expiry, and records how it was asked. It stands in for @azure/identity, which needs Azure.
// In lab/ because the bench uses it as well as the tests, and the bench must not reach into test/.
import { randomBytes } from 'node:crypto'
import type { AccessToken, TokenCredential } from '../src/index.js'

/** A JWT-shaped token carrying `claims`, with a random signature (nothing verifies it). */
export function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`
}

/** A stand-in TokenCredential whose answers the caller scripts through {@link FakeCredential.next}. */
export class FakeCredential implements TokenCredential {
  readonly scopes: string[] = []
  calls = 0
  /** What the next getToken returns; set by the test. */
  next: () => AccessToken | null
  /** Delay before answering, so concurrent callers overlap. */
  delayMs = 0

  constructor(next: () => AccessToken | null) {
    this.next = next
  }

  async getToken(scopes: string | string[]): Promise<AccessToken | null> {
    this.calls++
    this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]))
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    return this.next()
  }
}

/** A credential whose tokens carry `claims` and expire `lifetimeMs` after `now()`. */
export function credentialFor(claims: Record<string, unknown>, now: () => Date, lifetimeMs = 3_600_000): FakeCredential {
  return new FakeCredential(() => ({ token: jwt(claims), expiresOnTimestamp: now().getTime() + lifetimeMs }))
}
