import type { ConnectionOptions } from 'node:tls'
import { isIP } from 'node:net'
import pg from 'pg'
import { entraTokenSource, loadDefaultCredential, userFromToken } from './auth/entra.js'
import { azureLoginName } from './config/azure-host.js'
import { resolveSettings, type ResolvedSettings } from './config/resolve.js'
import { invalidConfig } from './errors.js'
import { assertVerifyingSsl } from './config/tls-policy.js'
import { explainConnectError, type ConnectContext } from './error-map.js'
import { defaultLogger, type Logger } from './log.js'
import type { AzurePgOptions, AzurePgPoolOptions } from './options.js'
import { resolveCertsSettings } from './trust/certs-options.js'
import { loadTrustAnchors, type TrustAnchors } from './trust/trust-anchors.js'

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
}

interface Prepared {
  readonly config: AzurePgClientConfig
  readonly context: ConnectContext
  /** Strings that must never appear in an error message: the password, the latest token. */
  readonly secrets: () => readonly string[]
}

function buildSsl(settings: ResolvedSettings, anchors: TrustAnchors): AzurePgSslConfig {
  const minVersion = settings.tls.extraSsl.minVersion === 'TLSv1.3' ? 'TLSv1.3' : 'TLSv1.2'
  const ssl: AzurePgSslConfig = { ...settings.tls.extraSsl, ca: anchors.ca, rejectUnauthorized: true, minVersion }
  // SNI and the identity check use servername; an IP literal host is checked against the certificate's IP SANs instead.
  if (isIP(settings.host) === 0) ssl.servername = settings.host
  return ssl
}

/** With Entra ID: the token source as pg's password, and the user name (from the token if not configured). */
async function entraLogin(settings: ResolvedSettings, options: AzurePgOptions, now: () => Date): Promise<{ user: string; password: () => Promise<string>; lastToken: () => string | undefined }> {
  const credential = options.entra === true || options.entra === undefined ? await loadDefaultCredential() : options.entra
  const nextToken = entraTokenSource(credential, settings.entraScope ?? '', now)
  let last: string | undefined
  const password = async (): Promise<string> => (last = await nextToken())
  let user = settings.user
  if (user === undefined) {
    const fromToken = userFromToken(await password())
    if (fromToken === undefined) {
      throw invalidConfig('No user name is configured, and the Entra ID token carries none (upn, preferred_username, unique_name, appid).',
        'Set user to the Entra principal name the server knows (a user\'s UPN, a group or a managed identity name).')
    }
    user = azureLoginName({ user: fromToken, serverName: settings.serverName, serverType: settings.serverType, host: settings.host })
  }
  return { user, password, lastToken: () => last }
}

async function prepare(options: AzurePgOptions): Promise<Prepared> {
  const env = options.env ?? process.env
  const logger: Logger = options.logger ?? defaultLogger(env)
  const now = options.now ?? (() => new Date())
  const settings = resolveSettings(options, env)
  const certs = resolveCertsSettings(options.certs, env)
  for (const w of settings.warnings) logger.warn(w)
  const anchors = await loadTrustAnchors(settings.tls.trust, { logger, now, certs })
  const entra = settings.entraScope === undefined ? undefined : await entraLogin(settings, options, now)
  // resolveSettings leaves the user unset only when Entra will supply it.
  const user = entra?.user ?? settings.user ?? ''
  const password = entra?.password ?? settings.password
  const config: AzurePgClientConfig = {
    ...settings.pgExtras,
    host: settings.connectHost,
    port: settings.port,
    user,
    database: settings.database,
    ssl: buildSsl(settings, anchors),
  }
  if (password !== undefined) config.password = password
  // pg reads PGSSLNEGOTIATION itself when this is unset; set it so the resolved value is the only one.
  ;(config as { sslnegotiation?: string }).sslnegotiation = settings.tls.sslnegotiation
  const context: ConnectContext = {
    host: settings.host,
    connectHost: settings.connectHost,
    port: settings.port,
    user,
    serverType: settings.serverType,
    trust: anchors.description,
    entra: entra !== undefined,
  }
  const fixed = typeof settings.password === 'string' ? [settings.password] : []
  const secrets = (): readonly string[] => [...fixed, ...(entra?.lastToken() === undefined ? [] : [entra.lastToken() as string])]
  return { config, context, secrets }
}

/**
 * A `pg.Client` that re-checks its TLS settings before connecting and explains connection failures
 * as {@link AzurePgError}s.
 */
export class AzurePgClient extends pg.Client {
  readonly #context: ConnectContext
  readonly #secrets: () => readonly string[]

  /** Use {@link createAzurePgClient}; this constructor takes an already resolved configuration. */
  constructor(config: AzurePgClientConfig, context: ConnectContext, secrets: () => readonly string[] = () => []) {
    super(config)
    this.#context = context
    this.#secrets = secrets
  }

  override connect(): Promise<pg.Client>
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void
  override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
    const attempt = this.#guardedConnect()
    if (callback === undefined) return attempt
    const cb = callback as (err: Error | null, c?: pg.Client) => void
    attempt.then((c) => cb(null, c), (err: Error) => cb(err))
  }

  async #guardedConnect(): Promise<pg.Client> {
    // The settings could have been changed after resolution; never let that open an unverified socket.
    // pg's Connection holds the ssl options it will use; check those, not just the client's copy.
    const connectionSsl: unknown = (this as unknown as { connection?: { ssl?: unknown } }).connection?.ssl
    for (const ssl of [this.ssl as unknown, connectionSsl]) {
      assertVerifyingSsl(typeof ssl === 'object' && ssl !== null ? (ssl as ConnectionOptions) : false, 'client.ssl')
    }
    try {
      return await super.connect()
    } catch (err) {
      throw explainConnectError(err, this.#context, this.#secrets())
    }
  }
}

/**
 * The final `pg` configuration for Azure: verified TLS (`ssl.ca`, `rejectUnauthorized: true`,
 * `servername`, `minVersion`), Azure user naming, explicit fields for everything pg would otherwise
 * read from the environment. For libraries that take pg options (Knex, Drizzle, Kysely, TypeORM).
 * Rejects with `AzurePgError` (`INVALID_CONFIG`, `INSECURE_TLS`, `USER_SERVER_MISMATCH`) before any I/O
 * to the server.
 */
export async function resolveAzurePgConfig(options: AzurePgOptions = {}): Promise<AzurePgClientConfig> {
  return (await prepare(options)).config
}

/**
 * A `pg.Client` (not yet connected) that can only talk to a server whose certificate chains to a
 * trusted root and carries the host name. `connect()` failures are `AzurePgError`s with a fix.
 */
export async function createAzurePgClient(options: AzurePgOptions = {}): Promise<pg.Client> {
  const { config, context, secrets } = await prepare(options)
  return new AzurePgClient(config, context, secrets)
}

/** A `pg.Pool` whose every client is an Azure-verified client, resolved once for the whole pool. */
export async function createAzurePgPool(options: AzurePgPoolOptions = {}): Promise<pg.Pool> {
  const { config, context, secrets } = await prepare(options)
  class PoolClient extends AzurePgClient {
    constructor(c: AzurePgClientConfig) {
      super(c, context, secrets)
    }
  }
  return new pg.Pool({ ...config, Client: PoolClient as unknown as typeof pg.Client })
}
