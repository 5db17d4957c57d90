// `azure-pg-tls/pg`: a drop-in for the `pg` module. Libraries that take a driver module (Sequelize's
// dialectModule, TypeORM's driver, Knex's client driver, MikroORM's and Kysely's pg.Pool) get the same
// Client and Pool classes pg has, but every connection goes through the SDK's one path:
// resolveOptions → prepare → AzurePgClient (trust, naming, refusals, Entra, error explanations).
//
// pg's `new Client(config)` is synchronous, and trust loading and Entra sign-in are not, so a Client
// resolves its settings in the constructor (pure, synchronous) and prepares in connect(). Refusals
// are kept until connect() rejects with them, before any socket exists: libraries construct clients
// inside pool code and promise executors (pg-pool's newClient, Knex's acquireRawConnection), where a
// throwing constructor would escape as a synchronous exception or leave a pool's bookkeeping half done,
// and pg's own constructor never throws for a bad configuration either.
// First: loads pg without its Cloudflare probe (see load-pg.ts).
import './load-pg.js'
import pg from 'pg'
import type * as upstream from 'pg'
import { resolveOptions, type Settings } from '../config/resolve.js'
import { AzurePgError, invalidConfig } from '../errors.js'
import { explainConnectError } from '../explain.js'
import type { AzurePgOptions, AzurePgPoolOptions } from '../options.js'
import { AzurePgClient, CheckoutTimedPool } from './client.js'
import { tellRefusal } from './connect-telemetry.js'
import { checkoutLimitMs } from './host-order.js'
import { connectContext, prepare, type AzurePgClientConfig } from './prepare.js'

/** What `new Client(config)` accepts: a connection string, or pg's options plus the SDK's. */
export type ClientConfig = AzurePgOptions
/** What `new Pool(config)` accepts: pg's pool options plus the SDK's. */
export type PoolConfig = AzurePgPoolOptions
/** pg's other name for {@link ClientConfig}; here too. */
export type ConnectionConfig = ClientConfig

/** EventEmitter's own bookkeeping: listeners attached before connect() belong to the object, not to its configuration. */
const EMITTER_STATE = ['_events', '_eventsCount', '_maxListeners']

/**
 * What a pg.Client records of its life rather than of its configuration: queries queued before connect()
 * finished preparing, an end() that came first, a failure. Copying a fresh client's would drop those
 * queries and undo that end().
 */
const CLIENT_STATE = new Set([
  ...EMITTER_STATE, 'connection', '_queryQueue', '_sentQueryQueue', '_activeQuery', '_ending', '_ended', '_connecting',
  '_connected', '_connectionError', '_queryable', 'readyForQuery', '_txStatus', 'processID', 'secretKey',
  // The type parsers: built from the same `types` option, and holding the caller's setTypeParser() calls.
  '_types',
])

/** The same for pg's Connection: a 'message' listener added before connect() (pg's `_emitMessage`), statements, an end(). */
const CONNECTION_STATE = new Set([...EMITTER_STATE, '_emitMessage', '_ending', '_connecting', 'parsedStatements', 'submittedNamedStatements'])

/**
 * Gives `target` (a pg.Client that has not connected) the configuration `fresh` was constructed with:
 * every own property pg's constructors set, on the client and on its Connection, except their state
 * (see {@link CLIENT_STATE}). The objects keep their identity and their listeners, so a library that
 * attached to `client.connection` before connect() (Sequelize listens for `parameterStatus`) still hears
 * the real connection.
 */
function adoptConfiguration(target: pg.Client, fresh: pg.Client): void {
  const copy = (to: object, from: object, skip: ReadonlySet<string>): void => {
    for (const name of Object.getOwnPropertyNames(from)) {
      if (skip.has(name)) continue
      const d = Object.getOwnPropertyDescriptor(from, name)
      if (d !== undefined) Object.defineProperty(to, name, d)
    }
  }
  const connectionOf = (c: pg.Client): object => (c as unknown as { connection: object }).connection
  copy(target, fresh, CLIENT_STATE)
  copy(connectionOf(target), connectionOf(fresh), CONNECTION_STATE)
}

/**
 * The configuration pg's constructor sees before connect(): the resolved server, and TLS that still
 * verifies (Node's roots, host name checked) in case anything reached pg's own connect() without
 * ours. connect() replaces it with the prepared configuration before any socket is opened.
 */
function provisionalConfig(settings: Settings | undefined): pg.ClientConfig {
  const ssl = { rejectUnauthorized: true, minVersion: 'TLSv1.2' as const }
  if (settings === undefined) return { ssl }
  return { ...settings.pgExtras, host: settings.host, port: settings.port, user: settings.user ?? '', database: settings.database, ssl }
}

/** A client's state between the synchronous constructor and connect(). */
interface Pending {
  readonly settings: Settings | undefined
  /** The AzurePgError resolveSettings threw: connect() rejects with it. */
  readonly refusal: unknown
  ready: Promise<void> | undefined
}

function pending(config: string | ClientConfig | undefined): Pending {
  const given: AzurePgOptions = typeof config === 'string' ? { connectionString: config } : config ?? {}
  try {
    return { settings: resolveOptions(given), refusal: undefined, ready: undefined }
  } catch (err) {
    return { settings: undefined, refusal: err, ready: undefined }
  }
}

/**
 * pg's `Client`, verified: `new Client(config)` is synchronous as pg's is; `connect()` loads the trusted
 * roots (and an Entra token), refuses an insecure setting before any socket opens, and explains
 * failures as `AzurePgError`s. Accepts every `pg.ClientConfig` field, a connection string, and the SDK's
 * options; reads `PG*`, `AZURE_POSTGRESQL_*` and `DATABASE_URL` like the rest of the SDK.
 */
export class Client extends AzurePgClient {
  readonly #pending: Pending

  constructor(config?: string | ClientConfig) {
    const p = pending(config)
    super(undefined, provisionalConfig(p.settings) as AzurePgClientConfig)
    this.#pending = p
  }

  override connect(): Promise<pg.Client>
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void
  override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
    // A refusal before any socket (an insecure setting, an unreadable root file) fails queued queries too.
    const attempt = this.#ready().then(() => super.connect(), (err: unknown) => {
      tellRefusal(err, 'configure')
      throw this.refuseQueries(err)
    })
    if (callback === undefined) return attempt
    const cb = callback as (err: Error | null, c?: pg.Client) => void
    attempt.then((c) => cb(null, c), (err: Error) => cb(err))
  }

  protected override prepareToCancel(): Promise<void> {
    return this.#ready()
  }

  /** Prepares once; a second connect() waits for the same preparation, then gets pg's "cannot reuse" error. */
  #ready(): Promise<void> {
    const p = this.#pending
    p.ready ??= (async () => {
      if (p.settings === undefined) throw p.refusal
      const prepared = await prepare(p.settings)
      this.adoptPrepared(prepared, (config) => adoptConfiguration(this, new pg.Client(config)))
    })()
    return p.ready
  }
}

/** The `connectionTimeoutMillis` each Pool was given, by the options object pg-pool gives its clients (whose own copy reads 0). */
const givenLimits = new WeakMap<object, number | undefined>()

/** A verified {@link Client} made by the pool, with the connect limit the pool was given (and the password pg-pool holds non-enumerable). */
class PoolClient extends Client {
  constructor(config?: string | ClientConfig) {
    if (typeof config !== 'object' || config === null) {
      super(config)
      return
    }
    const limit = givenLimits.get(config)
    const copy: ClientConfig = { ...config, password: config.password }
    if (limit === undefined) delete copy.connectionTimeoutMillis
    else copy.connectionTimeoutMillis = limit
    if (config.password === undefined) delete copy.password
    super(copy)
  }
}

/** How the pool turns its own failures (a checkout time limit, a failing hook) into AzurePgErrors. */
function poolExplainer(p: Pending): (err: unknown) => AzurePgError {
  const settings = p.settings
  if (settings === undefined) {
    // Every client of this pool is refused with the same error, before any socket opens.
    const refusal = p.refusal instanceof AzurePgError ? p.refusal : new AzurePgError('INVALID_CONFIG', 'The pool\'s configuration was refused.', { hint: 'See the cause.', cause: p.refusal })
    return () => refusal
  }
  const ctx = connectContext(settings, settings.user ?? '', 'the configured roots', settings.entra !== undefined)
  const secrets = typeof settings.password === 'string' ? [settings.password] : []
  return (err) => explainConnectError(err, ctx, secrets)
}

/**
 * pg's `Pool`, whose every client is a verified {@link Client}. Each new connection resolves and
 * prepares through the same path (the trusted roots and Entra tokens are shared in memory). A checkout
 * waits at most the connect limit (`connectionTimeoutMillis`, else `PGCONNECT_TIMEOUT` in the env the
 * SDK reads, else 30 s) in the queue, and the pool's own failures are AzurePgErrors, as with
 * `createAzurePgPool`.
 */
export class Pool extends CheckoutTimedPool {
  constructor(config: PoolConfig = {}) {
    if ((config as { Client?: unknown }).Client !== undefined) {
      throw invalidConfig('The Client option of azure-pg-tls/pg\'s Pool would replace its verified client.', 'Remove Client; to customise the client, use pg\'s own Pool with createAzurePgClient or resolveAzurePgConfig.')
    }
    const given = { ...config }
    const p = pending(given)
    const limit = Number(p.settings?.pgExtras['connectionTimeoutMillis'] ?? 0)
    const server = p.settings === undefined ? undefined : { host: p.settings.host, port: p.settings.port, database: p.settings.database }
    const checkout = p.settings === undefined || !Number.isFinite(limit) ? (Number.isFinite(limit) ? limit : 0) : checkoutLimitMs(limit, p.settings.hosts.length, p.settings.targetSessionAttrs)
    super({ ...given, Client: PoolClient } as pg.PoolConfig, checkout, poolExplainer(p), server, p.settings?.targetSessionAttrs)
    const options = (this as unknown as { options: Record<string, unknown> }).options
    givenLimits.set(options, given.connectionTimeoutMillis)
    if (p.settings !== undefined) nameServer(options, p.settings)
  }
}

/**
 * Names the pool's server on its options object, as a pool made from pg options would have it, for tools that
 * read it there (instrumentation-pg's `pg-pool.connect` span: `server.address`, `server.port`, `db.namespace`).
 * Not enumerable, so the copy each client is made from (a spread) leaves them out: the client resolves its
 * settings from what the user gave, and an explicit host would change which environment source is read.
 */
function nameServer(options: Record<string, unknown>, settings: Settings): void {
  const names: Record<string, unknown> = { host: settings.host, port: settings.port, database: settings.database }
  for (const [key, value] of Object.entries(names)) {
    if (!Object.hasOwn(options, key) && value !== undefined) Object.defineProperty(options, key, { value, writable: true, configurable: true, enumerable: false })
  }
}

export const { Connection, types, Query, DatabaseError, escapeIdentifier, escapeLiteral, Result, TypeOverrides, defaults } = pg
/** pg-native talks to libpq with its own TLS settings, outside this SDK's policy: not offered. */
export const native = null

// The classes above are pg's, taken from its module object at run time (pg is CommonJS that Node's ESM
// cannot name-import), so their type meanings are declared here. Type parameters and their defaults,
// `any` included, are copied from @types/pg: `Query` without arguments must mean what it means with pg.
/** pg's `Connection`: the protocol connection a client owns. */
export type Connection = upstream.Connection
/** pg's `Query`: a submittable query that emits rows. */
export type Query<R extends upstream.QueryResultRow = any, I extends any[] = any> = upstream.Query<R, I>
/** pg's `DatabaseError`: an error the server reported. */
export type DatabaseError = upstream.DatabaseError
/** pg's `Result`: what a query builds its rows into. */
export type Result<R extends upstream.QueryResultRow = any> = upstream.Result<R>
/** pg's `TypeOverrides`: per-client type parsers. */
export type TypeOverrides = upstream.TypeOverrides

export type {
  BindConfig, ClientBase, CustomTypesConfig, Defaults, Events, ExecuteConfig, FieldDef, MessageConfig, Notification,
  PoolClient, PoolOptions, QueryArrayConfig, QueryArrayResult, QueryConfig, QueryConfigValues, QueryParse, QueryResult,
  QueryResultBase, QueryResultRow, ResultBuilder, Submittable, TransactionStatus,
} from 'pg'

/** The module object, as `import pg from 'pg'` gives it: pg's, with the verified Client and Pool and no native. */
const azurePg: Omit<typeof pg, 'Client' | 'Pool' | 'native'> & { Client: typeof Client; Pool: typeof Pool; native: null } = {
  ...pg, Client, Pool, native,
}

/** The verified classes under names the namespace below does not shadow. */
type VerifiedClient = Client
type VerifiedPool = Pool

/**
 * The types `pg.X` names after `import pg from 'azure-pg-tls/pg'`, as after `import pg from 'pg'`, so typed
 * code changes only its import line. Each is the type of this module's named export of that name, so
 * `pg.Pool`, `Pool` and `ns.Pool` (after `import * as ns`) agree. Types only: nothing here exists at run
 * time, which is how a namespace can merge with the const above and leave the module object as it is.
 */
declare namespace azurePg {
  /** This module's verified Client class, not pg's. */
  export type Client = VerifiedClient
  /** This module's verified Pool class, not pg's. */
  export type Pool = VerifiedPool
  /** What `new pg.Client(config)` accepts here: pg's options plus the SDK's. */
  export type ClientConfig = AzurePgOptions
  /** What `new pg.Pool(config)` accepts here: pg's pool options plus the SDK's. */
  export type PoolConfig = AzurePgPoolOptions
  /** pg's other name for ClientConfig; here too. */
  export type ConnectionConfig = AzurePgOptions

  // pg's own types, documented by @types/pg; type parameters and defaults as it declares them (see above).
  export type ClientBase = upstream.ClientBase
  export type PoolClient = upstream.PoolClient
  export type PoolOptions = upstream.PoolOptions
  export type Defaults = upstream.Defaults
  export type Connection = upstream.Connection
  export type DatabaseError = upstream.DatabaseError
  export type TypeOverrides = upstream.TypeOverrides
  export type Events = upstream.Events
  export type Query<R extends QueryResultRow = any, I extends any[] = any> = upstream.Query<R, I>
  export type Result<R extends QueryResultRow = any> = upstream.Result<R>
  export type QueryConfig<I = any[]> = upstream.QueryConfig<I>
  export type QueryArrayConfig<I = any[]> = upstream.QueryArrayConfig<I>
  export type QueryConfigValues<T> = upstream.QueryConfigValues<T>
  export type QueryResult<R extends QueryResultRow = any> = upstream.QueryResult<R>
  export type QueryArrayResult<R extends any[] = any[]> = upstream.QueryArrayResult<R>
  export type ResultBuilder<R extends QueryResultRow = any> = upstream.ResultBuilder<R>
  export type QueryResultBase = upstream.QueryResultBase
  export type QueryResultRow = upstream.QueryResultRow
  export type CustomTypesConfig = upstream.CustomTypesConfig
  export type Submittable = upstream.Submittable
  export type FieldDef = upstream.FieldDef
  export type Notification = upstream.Notification
  export type QueryParse = upstream.QueryParse
  export type TransactionStatus = upstream.TransactionStatus
  export type BindConfig = upstream.BindConfig
  export type ExecuteConfig = upstream.ExecuteConfig
  export type MessageConfig = upstream.MessageConfig
}
export default azurePg
