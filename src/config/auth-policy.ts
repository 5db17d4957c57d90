// The authentication policy: libpq's channel_binding and require_auth, read from their settings, and
// the verdict on each authentication request a server makes. Verified TLS proves the server's
// certificate, not that the server asks for the password the safe way: a server (or anything holding
// a certificate that chains to a trusted root) can ask for it in cleartext, or run SCRAM without
// binding it to this TLS session. Pure: connect/auth-guard.ts applies the verdicts before pg answers.
import { invalidConfig } from '../errors.js'
import type { ChannelBinding } from '../options.js'
import type { Setting } from './setting.js'

/**
 * The ways a server can let a node-postgres client in: ask for a cleartext password, an MD5-hashed one,
 * run SCRAM-SHA-256, or ask for nothing (`none`: trust, or a server that skips authentication).
 */
export type AuthMethod = 'password' | 'md5' | 'scram-sha-256' | 'none'

/** Every method name libpq's require_auth knows; gss, sspi and oauth are ones node-postgres cannot answer. */
export type RequireAuthName = AuthMethod | 'gss' | 'sspi' | 'oauth'

/** A require_auth setting, read: what the server may ask for. */
export interface RequireAuth {
  /** Requests the server may make (never `none`: see {@link RequireAuth.allowsNone}). */
  readonly allowed: ReadonlySet<Exclude<RequireAuthName, 'none'>>
  /** Whether the server may let the client in without completing an authentication exchange. */
  readonly allowsNone: boolean
  /** The setting rebuilt from known names only, for messages (a typed value is never echoed). */
  readonly canonical: string
}

/** What a connection's login must look like. */
export interface AuthPolicy {
  readonly channelBinding: ChannelBinding
  /** Undefined: any method the server asks for (libpq's default). */
  readonly requireAuth: RequireAuth | undefined
  /** Where require_auth came from, for messages. */
  readonly requireAuthOrigin: string | undefined
  /** Where channel_binding came from, for messages; undefined for the default. */
  readonly channelBindingOrigin: string | undefined
}

/** The SCRAM mechanism that binds the login to the TLS session (RFC 5802's -PLUS, tls-server-end-point). */
export const SCRAM_PLUS = 'SCRAM-SHA-256-PLUS'

/** The policy when nothing is set: libpq's defaults. */
export const DEFAULT_AUTH_POLICY: AuthPolicy = Object.freeze({ channelBinding: 'prefer', requireAuth: undefined, requireAuthOrigin: undefined, channelBindingOrigin: undefined })

/** libpq's require_auth names, compared exactly as libpq's strcmp does (Npgsql's are rewritten by the ADO.NET reader). */
const NAMES: ReadonlySet<string> = new Set<RequireAuthName>(['password', 'md5', 'scram-sha-256', 'none', 'gss', 'sspi', 'oauth'])

/** The methods a node-postgres client can answer: the rest can never complete a login. */
const ANSWERABLE: readonly AuthMethod[] = ['password', 'md5', 'scram-sha-256', 'none']

const CHANNEL_BINDINGS: readonly ChannelBinding[] = ['disable', 'prefer', 'require']

const REQUIRE_AUTH_HINT = 'Use password, md5, scram-sha-256 or none (libpq\'s names: lower case, no blanks), separated by commas, each negated with "!" or none of them (require_auth=scram-sha-256, or require_auth=!password,!md5).'

/**
 * Reads channel_binding (libpq, Npgsql's `Channel Binding`, pgjdbc's `channelBinding`): `disable`,
 * `prefer` or `require`, in any case. Unset is `prefer`, libpq's default. Anything else, empty included, is
 * `INVALID_CONFIG`, naming where it came from and never the value.
 */
export function readChannelBinding(setting: Setting | undefined): ChannelBinding {
  if (setting === undefined) return 'prefer'
  const v = setting.value.trim().toLowerCase()
  // An empty value is refused, as libpq refuses it: it must not quietly override PGCHANNELBINDING=require.
  if (!(CHANNEL_BINDINGS as readonly string[]).includes(v)) {
    throw invalidConfig(`channel_binding (from ${setting.origin}) is not "disable", "prefer" or "require".`,
      'Use channel_binding=require to insist on SCRAM bound to the TLS session, prefer (the default) to bind when the server offers it, or disable.')
  }
  return v as ChannelBinding
}

/**
 * Reads require_auth with libpq 16's grammar: a comma list of `password`, `md5`, `scram-sha-256`,
 * `none` (and `gss`, `sspi`, `oauth`, which node-postgres cannot answer), every element negated with `!`
 * or none of them. A plain list allows what it names, `none` letting the server skip authentication; a
 * negated list allows everything but what it names, `!none` requiring an exchange. Names are exactly
 * libpq's, in lower case and without blanks, as libpq compares them (a typo in this setting must not pass
 * as another method). Empty or unset: undefined (no requirement). Unknown, repeated or mixed elements are
 * `INVALID_CONFIG`, never echoing the value.
 */
export function readRequireAuth(setting: Setting | undefined): RequireAuth | undefined {
  if (setting === undefined || setting.value === '') return undefined
  const where = `require_auth (from ${setting.origin})`
  const parts = setting.value.split(',')
  const negated = parts[0]?.startsWith('!') === true
  const names: RequireAuthName[] = []
  parts.forEach((part, i) => {
    if (part.startsWith('!') !== negated) throw invalidConfig(`${where} mixes negated ("!") and plain methods.`, REQUIRE_AUTH_HINT)
    const bare = negated ? part.slice(1) : part
    if (bare === '' || !NAMES.has(bare)) {
      throw invalidConfig(`${where}: element ${i + 1} of ${parts.length} is ${bare === '' ? 'empty' : 'not one of libpq\'s method names (lower case, no blanks)'}.`, REQUIRE_AUTH_HINT)
    }
    const name = bare as RequireAuthName
    if (names.includes(name)) throw invalidConfig(`${where} names ${name} more than once.`, REQUIRE_AUTH_HINT)
    names.push(name)
  })
  const all: ReadonlyArray<Exclude<RequireAuthName, 'none'>> = ['password', 'md5', 'scram-sha-256', 'gss', 'sspi', 'oauth']
  const listed = new Set(names)
  const allowed = new Set(all.filter((n) => listed.has(n) !== negated))
  const allowsNone = listed.has('none') !== negated
  return { allowed, allowsNone, canonical: names.map((n) => (negated ? `!${n}` : n)).join(',') }
}

/** Whether `method` may end a login under `requireAuth` (undefined: anything may). */
export function allows(requireAuth: RequireAuth | undefined, method: AuthMethod): boolean {
  if (requireAuth === undefined) return true
  return method === 'none' ? requireAuth.allowsNone : requireAuth.allowed.has(method)
}

/** Everything the policy is decided from. */
export interface AuthInput {
  readonly channelBinding: Setting | undefined
  readonly requireAuth: Setting | undefined
  /** pg's own `enableChannelBinding` option, if given: `false` is `disable`; `true` keeps the default or a stricter `require`. */
  readonly enableChannelBinding: boolean | undefined
  /** Entra ID sign-in: the token is the password, which Azure asks for in cleartext. */
  readonly entra: boolean
}

/**
 * Decides the policy and refuses (`INVALID_CONFIG`) a combination no server could ever satisfy:
 * Entra ID without `password` allowed or with channel_binding=require (Azure asks for the token as a
 * cleartext password), channel_binding=require without `scram-sha-256` allowed, or a require_auth that
 * leaves nothing node-postgres can answer. Pure.
 */
export function decideAuth(input: AuthInput): AuthPolicy {
  let channelBinding = readChannelBinding(input.channelBinding)
  let channelBindingOrigin = input.channelBinding === undefined || input.channelBinding.value.trim() === '' ? undefined : input.channelBinding.origin
  if (input.enableChannelBinding === false) {
    if (channelBindingOrigin !== undefined && channelBinding !== 'disable') {
      throw invalidConfig(`enableChannelBinding: false contradicts channel_binding (from ${channelBindingOrigin}).`, 'Set one of them: channel_binding=disable is what enableChannelBinding: false means.')
    }
    channelBinding = 'disable'
    channelBindingOrigin = 'option "enableChannelBinding"'
  } else if (input.enableChannelBinding === true && channelBinding === 'disable') {
    throw invalidConfig(`enableChannelBinding: true contradicts channel_binding (from ${channelBindingOrigin ?? 'the configuration'}).`, 'Set one of them: channel_binding=prefer is what enableChannelBinding: true means.')
  }
  const requireAuth = readRequireAuth(input.requireAuth)
  const requireAuthOrigin = requireAuth === undefined ? undefined : input.requireAuth?.origin
  const ra = `require_auth (from ${requireAuthOrigin ?? 'the configuration'})`
  const cb = `channel_binding=require (from ${channelBindingOrigin ?? 'the configuration'})`
  if (input.entra) {
    const entraHint = 'With entra, leave channel_binding at prefer (the default) and allow password: require_auth=password pins the login to it.'
    if (!allows(requireAuth, 'password')) {
      throw invalidConfig(`${ra} does not allow password, the only method an Entra ID token is sent by (Azure asks for it as a cleartext password, inside verified TLS): no login could succeed.`, entraHint)
    }
    if (channelBinding === 'require') {
      throw invalidConfig(`${cb} needs a SCRAM login, and an Entra ID token is sent as a cleartext password (Azure's design): no login could succeed.`, entraHint)
    }
  }
  if (channelBinding === 'require' && !allows(requireAuth, 'scram-sha-256')) {
    throw invalidConfig(`${cb} needs a SCRAM login, which ${ra} does not allow: no login could succeed.`, 'Add scram-sha-256 to require_auth (require_auth=scram-sha-256), or use channel_binding=prefer.')
  }
  if (requireAuth !== undefined && !ANSWERABLE.some((m) => allows(requireAuth, m))) {
    throw invalidConfig(`${ra} allows no method node-postgres can answer (password, md5, scram-sha-256, none): no login could succeed.`, REQUIRE_AUTH_HINT)
  }
  return Object.freeze({ channelBinding, requireAuth, requireAuthOrigin, channelBindingOrigin })
}

/** A server's authentication request, as the client sees it before answering. */
export type AuthRequest =
  | { readonly kind: 'password' }
  | { readonly kind: 'md5' }
  /** AuthenticationSASL, with the mechanisms the server offers. */
  | { readonly kind: 'sasl'; readonly mechanisms: readonly string[] }
  /** AuthenticationSASLContinue: the client is about to send its proof, by `mechanism`. */
  | { readonly kind: 'sasl-continue'; readonly mechanism: string | undefined }

/** How far the login got when the server sends AuthenticationOk. */
export interface AuthOutcome {
  /** What the server asked for first; undefined when it asked for nothing. */
  readonly asked: Exclude<AuthMethod, 'none'> | undefined
  /** The client finished its side: sent the password, or checked the server's SCRAM signature. */
  readonly completed: boolean
  /** The SCRAM exchange was bound to the TLS session (SCRAM-SHA-256-PLUS) and completed. */
  readonly channelBound: boolean
}

/** Why a request (or a login that skipped one) is refused. */
export interface Refusal {
  /** The method the server asked for; `none` when it let the client in without completing one. */
  readonly asked: AuthMethod
  /** The setting that refuses it. */
  readonly setting: 'require_auth' | 'channel_binding'
  /** What the server did, in words built from known names only. */
  readonly what: string
  /** For channel_binding: the server offered SCRAM, only without binding (PgBouncer does). */
  readonly scramWithoutBinding?: true
}

const ASKED_WORDS: Readonly<Record<AuthMethod, string>> = {
  password: 'a cleartext password',
  md5: 'an MD5-hashed password',
  'scram-sha-256': 'SCRAM-SHA-256',
  none: 'no authentication',
}

/** The SASL mechanisms worth naming in a message: a server's other strings are not repeated. */
const KNOWN_MECHANISMS = new Set(['SCRAM-SHA-256', SCRAM_PLUS, 'OAUTHBEARER'])

/** The server's mechanism list as a message may show it. */
export function mechanismsInWords(mechanisms: readonly string[]): string {
  const known = mechanisms.filter((m) => KNOWN_MECHANISMS.has(m))
  const others = mechanisms.length - known.length
  return [...known, ...(others > 0 ? [`${others} other`] : [])].join(', ') || 'none'
}

/**
 * The verdict on a request, before the client answers it: `undefined` to answer, a {@link Refusal} to
 * close the connection without sending anything. libpq's check_expected_areq, for the requests
 * node-postgres handles.
 */
export function judgeRequest(policy: AuthPolicy, request: AuthRequest): Refusal | undefined {
  const method: Exclude<AuthMethod, 'none'> = request.kind === 'password' ? 'password' : request.kind === 'md5' ? 'md5' : 'scram-sha-256'
  if (!allows(policy.requireAuth, method)) {
    return { asked: method, setting: 'require_auth', what: `asked for ${ASKED_WORDS[method]}` }
  }
  if (policy.channelBinding !== 'require') return undefined
  if (request.kind === 'password' || request.kind === 'md5') {
    return { asked: method, setting: 'channel_binding', what: `asked for ${ASKED_WORDS[method]}` }
  }
  if (request.kind === 'sasl' && !request.mechanisms.includes(SCRAM_PLUS)) {
    return { asked: method, setting: 'channel_binding', what: `offered SCRAM without channel binding (mechanisms: ${mechanismsInWords(request.mechanisms)})`, scramWithoutBinding: true }
  }
  if (request.kind === 'sasl-continue' && request.mechanism !== SCRAM_PLUS) {
    return { asked: method, setting: 'channel_binding', what: 'continued a SCRAM exchange that is not bound to the TLS session' }
  }
  return undefined
}

/**
 * The verdict when the server says the login succeeded (AuthenticationOk): with require_auth, the
 * server must have completed an allowed exchange unless `none` is allowed; with channel_binding=require,
 * it must have been SCRAM-SHA-256-PLUS, completed. Nothing secret is left to protect by now; the
 * connection is refused because the server did not prove what the policy asks of it.
 */
export function judgeOutcome(policy: AuthPolicy, outcome: AuthOutcome): Refusal | undefined {
  const asked: AuthMethod = outcome.asked ?? 'none'
  if (policy.requireAuth !== undefined && !policy.requireAuth.allowsNone && !outcome.completed) {
    return {
      asked, setting: 'require_auth',
      what: outcome.asked === undefined ? 'let the client in without asking for any authentication' : `let the client in before the ${ASKED_WORDS[outcome.asked]} exchange was complete`,
    }
  }
  if (policy.channelBinding === 'require' && !outcome.channelBound) {
    return { asked, setting: 'channel_binding', what: outcome.asked === undefined ? 'let the client in without asking for any authentication' : 'let the client in without a completed, channel-bound SCRAM exchange' }
  }
  return undefined
}

/**
 * The refusal in one sentence: what the server did and the setting that refuses it, with where that
 * setting came from. Built from known names only.
 */
export function refusalInWords(policy: AuthPolicy, refusal: Refusal): string {
  if (refusal.setting === 'channel_binding') {
    const from = policy.channelBindingOrigin === undefined ? '' : ` (from ${policy.channelBindingOrigin})`
    return `${refusal.what}; channel_binding=require${from} accepts only a SCRAM login bound to the TLS session (SCRAM-SHA-256-PLUS)`
  }
  const from = policy.requireAuthOrigin === undefined ? '' : ` (from ${policy.requireAuthOrigin})`
  return `${refusal.what}, which require_auth=${policy.requireAuth?.canonical ?? ''}${from} does not allow`
}
