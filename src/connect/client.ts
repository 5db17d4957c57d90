import type { ConnectionOptions } from 'node:tls'
import pg from 'pg'
import { resolveOptions } from '../config/resolve.js'
import { assertVerifyingSsl } from '../config/tls-policy.js'
import { explainConnectError, type ConnectContext } from '../explain.js'
import type { AzurePgOptions, AzurePgPoolOptions } from '../options.js'
import { prepare, withHiddenPassword, type AzurePgClientConfig, type Prepared } from './prepare.js'

/**
 * A `pg.Client` that re-checks its TLS settings before connecting and explains connection failures
 * as {@link AzurePgError}s.
 */
export class AzurePgClient extends pg.Client {
  readonly #context: ConnectContext
  readonly #secrets: () => readonly string[]

  /** Use {@link createAzurePgClient}; this constructor takes a prepared configuration (see `prepare`). */
  constructor(prepared: Prepared, config: AzurePgClientConfig = prepared.config) {
    super(config)
    this.#context = prepared.context
    this.#secrets = prepared.secrets
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
  return withHiddenPassword((await prepare(resolveOptions(options))).config)
}

/**
 * A `pg.Client` (not yet connected) that can only talk to a server whose certificate chains to a
 * trusted root and carries the host name. `connect()` failures are `AzurePgError`s with a fix.
 */
export async function createAzurePgClient(options: AzurePgOptions = {}): Promise<pg.Client> {
  return new AzurePgClient(await prepare(resolveOptions(options)))
}

/** A `pg.Pool` whose every client is an Azure-verified client, resolved once for the whole pool. */
export async function createAzurePgPool(options: AzurePgPoolOptions = {}): Promise<pg.Pool> {
  const prepared = await prepare(resolveOptions(options))
  class PoolClient extends AzurePgClient {
    constructor(c: AzurePgClientConfig) {
      super(prepared, c)
    }
  }
  return new pg.Pool({ ...prepared.config, Client: PoolClient as unknown as typeof pg.Client })
}
