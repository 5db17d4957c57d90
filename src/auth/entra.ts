import { AzurePgError } from '../errors.js'
import type { AccessToken, TokenCredential } from '../options.js'
import { channels, connectScope, type EntraTokenMessage } from '../telemetry/channels.js'
import { PromiseMemo } from '../util/memo.js'
import { withTimeLimit } from '../util/time-limit.js'

/** Tokens are renewed this long before they expire, so a connection never starts with a dying one. */
export const REFRESH_MARGIN_MS = 5 * 60_000

/** The claims a user name is taken from, in order: users, then service principals and managed identities. */
const USER_CLAIMS = ['upn', 'preferred_username', 'unique_name', 'appid'] as const

/**
 * The PostgreSQL user name carried by an Entra token (`upn`, `preferred_username`, `unique_name`,
 * else `appid`). The payload is decoded, not verified: the server verifies the token.
 */
export function userFromToken(token: string): string | undefined {
  const payload = token.split('.')[1]
  if (payload === undefined) return undefined
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>
    for (const claim of USER_CLAIMS) {
      const v = claims[claim]
      if (typeof v === 'string' && v !== '') return v
    }
  } catch {
    // Not a JWT: the caller reports that no user name could be found.
  }
  return undefined
}

interface CacheEntry {
  token?: AccessToken
  inflight?: Promise<AccessToken>
}

/** Tokens per credential and scope, shared by every client and pool in the process; never on disk. */
const tokenCache = new WeakMap<TokenCredential, Map<string, CacheEntry>>()

function tokenFailed(why: string, cause?: unknown): AzurePgError {
  return new AzurePgError('ENTRA_TOKEN_FAILED', `Getting a Microsoft Entra ID token for Azure Database for PostgreSQL failed: ${why}.`, {
    hint: 'Check the credential: sign in with `az login`, or give the managed identity access; see the cause for the credential\'s own message.',
    cause,
  })
}

/**
 * A token source for one credential and scope: a cached token is reused until
 * {@link REFRESH_MARGIN_MS} before it expires, and concurrent callers share one `getToken` call, which
 * may take at most `limitMs` (a credential that never answers, such as a managed-identity endpoint that
 * is not there, fails with `ENTRA_TOKEN_FAILED` instead of holding the connection forever).
 */
export function entraTokenSource(credential: TokenCredential, scope: string, now: () => Date, limitMs: number): () => Promise<string> {
  let byScope = tokenCache.get(credential)
  if (byScope === undefined) {
    byScope = new Map()
    tokenCache.set(credential, byScope)
  }
  const entry: CacheEntry = byScope.get(scope) ?? {}
  byScope.set(scope, entry)
  return async () => {
    const cached = entry.token
    if (cached !== undefined && cached.expiresOnTimestamp - REFRESH_MARGIN_MS > now().getTime()) {
      if (channels.entraToken.hasSubscribers) tokenTold(scope, true, 0)
      return cached.token
    }
    const started = channels.entraToken.hasSubscribers ? performance.now() : undefined
    entry.inflight ??= (async () => {
      let token: AccessToken | null
      try {
        token = await withTimeLimit(Promise.resolve().then(() => credential.getToken(scope)), limitMs, `no token within ${limitMs} ms`)
      } catch (cause) {
        const timedOut = (cause as { code?: unknown }).code === 'ETIMEDOUT' && !(cause instanceof AzurePgError)
        throw tokenFailed(timedOut ? `the credential gave no token within ${limitMs} ms` : 'the credential threw', cause)
      }
      if (token === null || typeof token.token !== 'string' || token.token === '') throw tokenFailed('the credential returned no token')
      entry.token = token
      return token
    })().finally(() => { entry.inflight = undefined })
    if (started === undefined) return (await entry.inflight).token
    try {
      const { token } = await entry.inflight
      tokenTold(scope, false, performance.now() - started)
      return token
    } catch (err) {
      tokenTold(scope, false, performance.now() - started, (err as { code?: string }).code ?? 'ENTRA_TOKEN_FAILED')
      throw err
    }
  }
}

/** Publishes that a token was asked for: how, how long, and whether it came. Never the token. */
function tokenTold(scope: string, cached: boolean, durationMs: number, code?: string): void {
  channels.entraToken.publish({ cached, ok: code === undefined, durationMs, scope, code, connectId: connectScope.getStore() } satisfies EntraTokenMessage)
}

const defaultCredential = new PromiseMemo<string, TokenCredential>()

/**
 * `DefaultAzureCredential` from `@azure/identity` (managed identity, workload identity, `az login`, ...),
 * imported only when asked for, once per process and managed identity. `managedIdentityClientId` selects a
 * user-assigned managed identity (Service Connector's `AZURE_POSTGRESQL_CLIENTID`).
 */
export function loadDefaultCredential(managedIdentityClientId?: string): Promise<TokenCredential> {
  return defaultCredential.get(managedIdentityClientId ?? '', async () => {
    const name = '@azure/identity'
    let mod: { DefaultAzureCredential: new (options?: { managedIdentityClientId?: string }) => TokenCredential }
    try {
      mod = (await import(name)) as typeof mod
    } catch (cause) {
      throw new AzurePgError('ENTRA_UNAVAILABLE', 'entra: true needs the package @azure/identity, which is not installed.', {
        hint: 'Run `npm install @azure/identity`, or pass your own TokenCredential as entra.', cause,
      })
    }
    return managedIdentityClientId === undefined ? new mod.DefaultAzureCredential() : new mod.DefaultAzureCredential({ managedIdentityClientId })
  })
}
