// Settings → what a connection needs: the pg configuration, the context errors are explained with,
// and the secrets no message may carry. Every entry point (client, pool, doctor, CLI) goes through
// prepare(), so trust loading, Entra sign-in and naming happen in one place.
import { Socket } from 'node:net'
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls'
import type pg from 'pg'
import { entraTokenSource, loadDefaultCredential, userFromToken } from '../auth/entra.js'
import { azureLoginName } from '../config/azure-host.js'
import type { HostTarget, Settings } from '../config/resolve.js'
import { invalidConfig } from '../errors.js'
import { DEFAULT_CONNECT_TIMEOUT_MS } from '../options.js'
import { limitOrDefault } from '../util/time-limit.js'
import type { ConnectContext } from '../explain.js'
import { channels, connectScope, type TrustMessage } from '../telemetry/channels.js'
import { loadTrustAnchors, type TrustAnchors } from '../trust/trust-anchors.js'
import { trustTier } from '../trust/trust-tier.js'
import { learnedFacts, type LearnedFacts } from './learned-facts.js'
import { trustKey } from './tls-context.js'
import { copyOf, sdkIdentityCheck } from './tls-guard.js'

/** The TLS options every resolved configuration carries. */
export interface AzurePgSslConfig extends ConnectionOptions {
  ca: NonNullable<ConnectionOptions['ca']>
  rejectUnauthorized: true
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  servername?: string
}

/** A `pg.ClientConfig` whose `ssl` always verifies the chain and host name. */
export interface AzurePgClientConfig extends pg.ClientConfig {
  ssl: AzurePgSslConfig
  /** With `hostaddr` configured: the address the socket goes to (pg ignores this field; `stream` does the work). */
  hostaddr?: string
}

/** Everything a connection is made from. */
export interface Prepared {
  readonly settings: Settings
  readonly config: AzurePgClientConfig
  readonly context: ConnectContext
  /** Strings that must never appear in an error: the password, the latest token. */
  readonly secrets: () => readonly string[]
  /** A key for the trust set, for sharing one TLS context among its connections. */
  readonly trustKey: string
  /** What was learned about servers (sslnegotiation auto, key share); undefined with learn: 'off'. */
  readonly facts: LearnedFacts | undefined
  /** A private, frozen copy of `config.ssl`: what every connection is checked against, whoever holds `config`. */
  readonly ssl: Readonly<Record<string, unknown>>
  /** Each server of the host list with the user name it is sent and the context its failures are explained with. */
  readonly hosts: readonly PreparedHost[]
}

/** One server of the host list, ready to be tried. */
export interface PreparedHost {
  readonly target: HostTarget
  /** The user name as this server gets it (Single Server's `user@server` names this server). */
  readonly user: string
  readonly context: ConnectContext
}

function buildSsl(settings: Settings, anchors: TrustAnchors): AzurePgSslConfig {
  const minVersion = settings.tls.extraSsl.minVersion === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2'
  const ssl: AzurePgSslConfig = { ...settings.tls.extraSsl, ca: anchors.ca, rejectUnauthorized: true, minVersion }
  if (settings.tls.servername !== undefined) ssl.servername = settings.tls.servername
  else if (settings.connectHost !== settings.host) {
    // An IP-literal host reached through another address (hostaddr): libpq checks the certificate
    // against host, while Node would check the address it connected to.
    const host = settings.host
    ssl.checkServerIdentity = sdkIdentityCheck((_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert))
  }
  return ssl
}

interface EntraLogin {
  readonly user: string
  /** The user name before Azure naming (from the configuration or the token), for naming it per server. */
  readonly plainUser: string | undefined
  readonly password: () => Promise<string>
  readonly lastToken: () => string | undefined
}

/** How long a token may take: the connect limit, or its default where the connect limit is 0 (none): a token wait always ends. */
function tokenLimitMs(settings: Settings): number {
  return limitOrDefault(settings.pgExtras['connectionTimeoutMillis'], DEFAULT_CONNECT_TIMEOUT_MS)
}

/** With Entra ID: the token source as pg's password, and the user name (from the token if not configured). */
async function entraLogin(settings: Settings): Promise<EntraLogin | undefined> {
  const { entra } = settings
  if (entra === undefined) return undefined
  // DefaultAzureCredential is loaded when the first token is needed: with a configured user that is
  // the first connection, so a process that never connects never imports @azure/identity.
  let nextToken: (() => Promise<string>) | undefined
  let last: string | undefined
  const password = async (): Promise<string> => {
    nextToken ??= entraTokenSource(entra.credential ?? (await loadDefaultCredential(entra.managedIdentityClientId)), entra.scope, settings.now, tokenLimitMs(settings))
    return (last = await nextToken())
  }
  let user = settings.user
  let plainUser: string | undefined
  if (user === undefined) {
    const fromToken = userFromToken(await password())
    if (fromToken === undefined) {
      throw invalidConfig('No user name is configured, and the Entra ID token carries none (upn, preferred_username, unique_name, appid).',
        'Set user to the Entra principal name the server knows (a user\'s UPN, a group or a managed identity name).')
    }
    plainUser = fromToken
    user = azureLoginName({ user: fromToken, serverName: settings.serverName, serverType: settings.serverType, host: settings.host })
  }
  return { user, plainUser, password, lastToken: () => last }
}

/**
 * `host` as the user named it, and with `hostaddr` a socket that goes to that address instead of looking the
 * name up (libpq's meaning). pg and the tools that read a client's `host` (OpenTelemetry's instrumentation-pg
 * reports it as `server.address`) then see the server's name, not the address it is reached at. A `stream`
 * of the user's own stays theirs, with `host` the address as before: it decides where its socket goes.
 */
function destination(settings: Settings): { host: string; hostaddr?: string; stream?: () => Socket } {
  const { host, connectHost } = settings
  if (connectHost === host || settings.pgExtras['stream'] !== undefined) return { host: connectHost }
  // hostaddr stays in the configuration (pg ignores it): it says where the socket goes, to a reader and
  // to the SDK when the configuration comes back (explainPgConnectError, a second resolve).
  return { host, hostaddr: connectHost, stream: () => socketTo(host, connectHost) }
}

/** A socket whose connect(port, host) goes to `address` when pg names `host`. */
function socketTo(host: string, address: string): Socket {
  const socket = new Socket()
  const connect = socket.connect.bind(socket) as (port: number, to: string) => Socket
  Object.defineProperty(socket, 'connect', {
    value: (port: number, to: string): Socket => connect(port, to === host ? address : to),
    writable: true, configurable: true, enumerable: false,
  })
  return socket
}

/** What errors say about a connection: where it goes, as whom, trusting what. */
export function connectContext(settings: Settings, user: string, trust: string, entra: boolean): ConnectContext {
  return { host: settings.host, connectHost: settings.connectHost, port: settings.port, user, serverType: settings.serverType, trust, entra }
}

/**
 * Refuses (`INVALID_CONFIG`) what one static pg configuration cannot carry: several hosts (pg connects to
 * one `host`), or a target_session_attrs other than `any` (pg never checks the session). For
 * `resolveAzurePgConfig`, whose result goes to plain pg.
 */
export function assertStaticTarget(settings: Settings): void {
  if (settings.hosts.length > 1 || settings.targetSessionAttrs !== 'any') {
    throw invalidConfig(`resolveAzurePgConfig returns one pg configuration for one server, and the configuration ${settings.hosts.length > 1 ? `names ${settings.hosts.length} hosts` : `asks for target_session_attrs "${settings.targetSessionAttrs}"`}.`,
      'Use createAzurePgClient or createAzurePgPool, which try each host and check the session, or name one host for resolveAzurePgConfig.')
  }
}

/**
 * Loads the trust anchors, signs in with Entra ID when asked, and builds the pg configuration and
 * the error context. Reports the settings' warnings to their logger.
 */
export async function prepare(settings: Settings): Promise<Prepared> {
  for (const w of settings.warnings) settings.logger.warn(w)
  const trustStart = performance.now()
  const [anchors, facts] = await Promise.all([
    loadTrustAnchors(settings.tls.trust, { logger: settings.logger, now: settings.now, certs: settings.certs }),
    learnedFacts(settings.learn, settings.certs.cacheDir, settings.now),
  ])
  if (channels.trust.hasSubscribers) {
    channels.trust.publish({
      source: anchors.source, tier: trustTier(settings), roots: Array.isArray(anchors.ca) ? anchors.ca.length : 1,
      durationMs: performance.now() - trustStart, connectId: connectScope.getStore(),
    } satisfies TrustMessage)
  }
  const entra = await entraLogin(settings)
  // resolveSettings leaves the user unset only when Entra will supply it.
  const user = entra?.user ?? settings.user ?? ''
  // A password function's answers are secrets too: remember the latest, so no error can carry it.
  let lastAnswer: string | undefined
  const given = settings.password
  const passwordSource = typeof given === 'function'
    ? async (): Promise<string> => {
      const answer = await given()
      if (typeof answer === 'string') lastAnswer = answer
      return answer
    }
    : given
  const password = entra?.password ?? passwordSource
  const config: AzurePgClientConfig = {
    ...settings.pgExtras,
    ...destination(settings),
    port: settings.port,
    user,
    database: settings.database,
    ssl: buildSsl(settings, anchors),
  }
  if (password !== undefined) config.password = password
  // SCRAM-SHA-256-PLUS when the server offers it; channel_binding=require is enforced by the SDK's client (auth-guard.ts).
  config.enableChannelBinding = settings.auth.channelBinding !== 'disable'
  // pg reads PGSSLNEGOTIATION itself when this is unset; set it so the resolved value is the only one.
  // `auto` is the SDK's own (AzurePgClient decides per connection); other libraries get libpq's default.
  ;(config as { sslnegotiation?: string }).sslnegotiation = settings.tls.sslnegotiation === 'auto' ? 'postgres' : settings.tls.sslnegotiation
  const context = connectContext(settings, user, anchors.description, entra !== undefined)
  const fixed = typeof given === 'string' ? [given] : []
  const secrets = (): readonly string[] => {
    const more = [entra?.lastToken(), lastAnswer].filter((s): s is string => s !== undefined)
    return more.length === 0 ? fixed : [...fixed, ...more]
  }
  const entraUser = entra?.plainUser
  const hosts = settings.hosts.map((target): PreparedHost => {
    // A configured user is named per server by the resolver; a user taken from the token is named here.
    const hostUser = target.user ?? (entraUser === undefined ? user : azureLoginName({ user: entraUser, serverName: target.serverName, serverType: settings.serverType, host: target.host }))
    return Object.freeze({ target, user: hostUser, context: { ...context, host: target.host, connectHost: target.connectHost, port: target.port, user: hostUser } })
  })
  return {
    settings, config, context, secrets, trustKey: trustKey(anchors.ca), facts, ssl: Object.freeze(copyOf(config.ssl as unknown as Record<string, unknown>)),
    hosts: Object.freeze(hosts),
  }
}

/** A copy of a pg configuration whose password is not enumerable, so logging the object never prints it (as pg-pool does). */
export function withHiddenPassword<T extends pg.ClientConfig>(config: T): T {
  const { password, ...rest } = config
  const copy = rest as T
  if (password !== undefined) Object.defineProperty(copy, 'password', { value: password, enumerable: false, writable: true, configurable: true })
  return copy
}
