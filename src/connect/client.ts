import type { TLSSocket } from 'node:tls'
// First: loads pg without its Cloudflare probe (see load-pg.ts).
import './load-pg.js'
import pg from 'pg'
import { resolveOptions, type Settings } from '../config/resolve.js'
import { AzurePgError, invalidConfig } from '../errors.js'
import { explainConnectError, type ConnectContext } from '../explain.js'
import { DEFAULT_CONNECT_TIMEOUT_MS, type AzurePgOptions, type AzurePgPoolOptions, type TargetSessionAttrs } from '../options.js'
import { assertStaticTarget, prepare, withHiddenPassword, type AzurePgClientConfig, type Prepared } from './prepare.js'
import { assertPlainPgCanEnforce, guardAuthRequests, installAuthGuard, restartAuthGuard, type GuardedConnection } from './auth-guard.js'
import { installAdaptiveConnect, whenSecure, type PgConnection } from './adaptive-connect.js'
import { planConnection, type ConnectionPlan } from './connection-plan.js'
import { CheckoutLimit, type QueuedCheckout } from './checkout-limit.js'
import { errorConverter, failureExplainer, queryConverted, trackPhase, type PhaseTracker } from './phase.js'
import { endTracedSubmittable } from './submittable-end.js'
import { limitOrDefault } from '../util/time-limit.js'
import { tellRefusal, traceConnect } from './connect-telemetry.js'
import { channels, poolName, type PoolCreatedMessage, type PoolState, type PoolWaitMessage } from '../telemetry/channels.js'
import type { AdaptivePlan } from './adaptive-connect.js'
import { checkBeforeConnect, expectationOf, verifySession, type TlsExpectation } from './tls-guard.js'
import { planHost, type HostPlan } from './connection-plan.js'
import { checkoutLimitMs, needsHostLoop } from './host-order.js'
import { installHostLoop, sendCancel, type LoopClient, type LoopConnection } from './host-loop.js'
import { isShutdownNotice, type FailoverEvent } from './failover.js'
import { failureHooks, PoolFailover, sessionParameters, type FailoverPoolInternals } from './failover-pool.js'
import { watchSessionParameters } from './session-attrs.js'

/** pg's internals the guard reads: the Connection it will use, and the parameters it took from the config. */
interface PgInternals {
  connection: { ssl?: unknown; sslNegotiation?: unknown; stream?: unknown; on(event: string, f: (...args: unknown[]) => void): unknown; once(event: string, f: (...args: unknown[]) => void): unknown; removeListener(event: string, f: (...args: unknown[]) => void): unknown; connect(port: unknown, host: unknown): void; requestSsl(): void; cancel(pid: unknown, key: unknown): void; end(): void }
  connectionParameters: Record<string, unknown>
  password: unknown
  host: unknown
  port: unknown
  ssl: unknown
  _activeQuery?: unknown
  _queryable?: boolean
  _ending?: boolean
  _connecting?: boolean
  _connectionCallback?: ((err: Error | null) => void) | null
  _connectionTimeoutMillis?: unknown
  _queryQueue?: unknown[]
  _sentQueryQueue?: unknown[]
  processID?: unknown
  secretKey?: unknown
}

/** pg.Client's methods that deliver failures, which AzurePgClient hooks. */
interface PgFailurePaths {
  query(config: unknown, values?: unknown, callback?: unknown): unknown
  end(callback: () => void): void
  emit(event: string | symbol, ...args: unknown[]): boolean
  _errorAllQueries(err: unknown): void
  _handleErrorMessage(msg: unknown): void
}

const pgPaths = pg.Client.prototype as unknown as PgFailurePaths

/**
 * Whether a client has a running or queued query that `_errorAllQueries` would fail. pg 8.12 and later
 * keep them in `_activeQuery`, `_sentQueryQueue` and `_queryQueue`; older versions in `activeQuery` and
 * `queryQueue` (read only there: pg 8.12+ prints a deprecation warning for those). Any other shape: yes.
 */
function hasQueries(c: PgInternals): boolean {
  const old = c as unknown as { activeQuery?: unknown; queryQueue?: unknown[] }
  if ('_queryQueue' in c) return c._activeQuery != null || (c._queryQueue?.length ?? 1) > 0 || (c._sentQueryQueue?.length ?? 0) > 0
  if ('queryQueue' in c) return old.activeQuery != null || (old.queryQueue?.length ?? 1) > 0
  return true
}

/** Whether pg puts a `query_timeout` on this call: as pg decides it, the query's own unless falsy, else the client's. */
function hasReadTimeout(config: unknown, client: PgInternals): boolean {
  const own = typeof config === 'object' && config !== null ? (config as { query_timeout?: unknown }).query_timeout : undefined
  return Boolean(own || client.connectionParameters['query_timeout'])
}

/**
 * How long `end()` waits for the server to close the connection after pg's Terminate message before it
 * closes the socket itself (a live server closes at once; libpq does not wait at all).
 */
export const END_LIMIT_MS = 5000

/**
 * Closes the connection's socket (whichever it is then) after `ms`, unless the timer returned is cleared
 * first: the end of a wait for a server that does not close by itself. The timer never keeps the process alive.
 */
function closeStreamAfter(con: { stream?: unknown }, ms: number): NodeJS.Timeout {
  const timer = setTimeout(() => { (con.stream as { destroy?: () => void } | undefined)?.destroy?.() }, ms)
  timer.unref()
  return timer
}

/** pg's internals of a client whose query is being cancelled, in any pg 8 version: newer ones prefix them with `_`. */
interface CancelTarget {
  _activeQuery?: unknown
  activeQuery?: unknown
  _queryQueue?: unknown[]
  queryQueue?: unknown[]
  _sentQueryQueue?: unknown[]
}

/**
 * A field of pg's client by its current name (`_activeQuery`) where that exists, else by its older one
 * (`activeQuery`): a client may come from another copy of pg (ORMs bring their own) of another version.
 * The older names are deprecated getters in newer pg, so they are read only where the new one is missing.
 */
function pgField<K extends keyof CancelTarget>(client: CancelTarget, current: K, older: K): CancelTarget[K] {
  return current in client ? client[current] : client[older]
}

/** Where `query` is on `client`: running now, queued, already sent (pipelining), or nowhere (finished, or never there). */
function queryState(client: object, query: object): 'running' | 'queued' | 'sent' | 'none' {
  const c = client as CancelTarget
  if (pgField(c, '_activeQuery', 'activeQuery') === query) return 'running'
  if (pgField(c, '_queryQueue', 'queryQueue')?.includes(query) === true) return 'queued'
  if (c._sentQueryQueue?.includes(query) === true) return 'sent'
  return 'none'
}

/** Takes a query that has not been sent off its client's queue (what cancelling it means: no network needed). */
function dequeue(client: object, query: object): void {
  const queue = pgField(client as CancelTarget, '_queryQueue', 'queryQueue')
  const at = queue?.indexOf(query) ?? -1
  if (queue !== undefined && at !== -1) queue.splice(at, 1)
}

/** Fields pg would read from `process.env` (or `~/.pgpass`) when the configuration leaves them unset. */
const ENV_BACKED_FIELDS = ['options', 'application_name', 'client_encoding', 'binary', 'replication'] as const

/**
 * A `pg.Client` that connects only as it was configured: just before connecting it checks that the
 * TLS options, negotiation and destination pg will use are exactly the resolved ones, and it refuses
 * a TLS session that is not verified (or, for direct TLS, did not select ALPN "postgresql") before pg
 * sends a byte. Connection failures are explained as {@link AzurePgError}s. Nothing is taken from
 * the process environment behind the SDK's back. Each connection uses its trust set's shared TLS
 * context, and with `sslnegotiation: 'auto'` what was learned about its server.
 */
export class AzurePgClient extends pg.Client {
  #context: ConnectContext | undefined
  #secrets: () => readonly string[] = () => []
  #expected: TlsExpectation | undefined
  #phase: PhaseTracker | undefined
  #convert: ((err: unknown) => unknown) | undefined
  #plan: AdaptivePlan | undefined
  /** With a host list (or a session to check): each server's time limit, and how to plan an attempt at one. */
  #hostLoop: { readonly limitMs: number; readonly plan: (index: number) => HostPlan } | undefined

  // A connection lost during a query becomes an AzurePgError of phase `query`, for the query and for
  // 'error' listeners alike. pg's failure paths are hooked once, on the prototype, so that a query that
  // succeeds runs pg's own code and nothing else.
  static {
    const hook = (name: keyof PgFailurePaths, value: (this: AzurePgClient, ...args: never[]) => unknown): void => {
      Object.defineProperty(this.prototype, name, { value, writable: true, configurable: true, enumerable: false })
    }
    // The caller's arguments go to pg exactly as given (their number included): pg and the tools that wrap
    // query() (OpenTelemetry's instrumentation-pg) tell the promise, callback and submittable forms apart by them.
    // Each hook below forwards its `arguments` in exactly one `apply` and uses them nowhere else: V8 then passes
    // them on without making an arguments object (a second use, even in a branch not taken, makes one on
    // every call: about 18 ns a call more, measured alone; small, but on every query).
    const convertedQuery = function convertedQuery(this: AzurePgClient, ...args: unknown[]): unknown {
      return queryConverted((...given) => pgPaths.query.apply(this, given as [unknown]), args, this.#convert ?? ((err) => err))
    }
    hook('query', function query(this: AzurePgClient, config: unknown): unknown {
      if (typeof config === 'object' && config !== null) endTracedSubmittable(config, pgPaths.query)
      const self = this as unknown as PgInternals
      // pg makes these failures inside query() itself: a closed or broken client, a query_timeout.
      const converted = this.#convert !== undefined && (self._queryable === false || self._ending === true || hasReadTimeout(config, self))
      return (converted ? convertedQuery : pgPaths.query).apply(this, arguments as unknown as [unknown])
    })
    const convertedEmit = function convertedEmit(this: AzurePgClient, event: string | symbol, ...args: unknown[]): boolean {
      const convert = this.#convert
      if (convert !== undefined) args[0] = convert(args[0])
      return pgPaths.emit.call(this, event, ...args)
    }
    // Every query ends with an emit ('drain'): only an 'error' is converted.
    hook('emit', function emit(this: AzurePgClient, event: string | symbol): boolean {
      const converted = event === 'error' && this.#convert !== undefined
      return (converted ? convertedEmit : pgPaths.emit).apply(this, arguments as unknown as [string])
    })
    // A lost connection (socket error, unexpected end) reaches the running and queued queries here.
    // pg calls it on every end of a connection, an orderly end() included, when mostly nothing waits: the
    // error is explained (which looks for secrets in it) only when a query will receive it.
    hook('_errorAllQueries', function errorAllQueries(this: AzurePgClient, err: unknown): void {
      const convert = this.#convert
      pgPaths._errorAllQueries.call(this, convert === undefined || !hasQueries(this as unknown as PgInternals) ? err : convert(err))
    })
    // A server's ErrorResponse after login: a FATAL one (a restart) is a lost connection; SQL errors come back unchanged.
    hook('_handleErrorMessage', function handleErrorMessage(this: AzurePgClient, msg: unknown): void {
      const connecting = (this as unknown as PgInternals)._connecting === true
      pgPaths._handleErrorMessage.call(this, this.#convert === undefined || connecting ? msg : this.#convert(msg))
    })
    // channel_binding and require_auth: each authentication request is judged before pg answers it.
    guardAuthRequests(this.prototype)
  }

  /**
   * Use {@link createAzurePgClient}; this constructor takes a prepared configuration (see `prepare`),
   * and refuses one that would not verify. Without one, the client cannot connect until
   * {@link AzurePgClient.adoptPrepared} gives it one (the `azure-pg-tls/pg` Client does).
   */
  constructor(prepared: Prepared | undefined, config?: AzurePgClientConfig) {
    const planned = prepared === undefined ? undefined : planConnection(prepared, config ?? prepared.config)
    // Refuse a configuration that would not verify, before pg sees it: also for direct construction.
    const expected = planned === undefined ? undefined : expectationOf(planned.config)
    super(planned?.config ?? config ?? { ssl: { rejectUnauthorized: true, minVersion: 'TLSv1.2' } })
    // The guard checks this Connection's TLS options: nobody may put another Connection in its place.
    Object.defineProperty(this, 'connection', { value: (this as unknown as PgInternals).connection, writable: false, configurable: false, enumerable: true })
    if (prepared !== undefined && planned !== undefined && expected !== undefined) this.#adopt(prepared, planned, expected)
  }

  /**
   * Gives a client built without a prepared configuration its one. `rebuild` receives the final pg
   * configuration and must make this client's pg state match it (before any socket exists).
   */
  protected adoptPrepared(prepared: Prepared, rebuild: (config: AzurePgClientConfig) => void): void {
    const planned = planConnection(prepared, prepared.config)
    const expected = expectationOf(planned.config)
    rebuild(planned.config)
    this.#adopt(prepared, planned, expected)
  }

  #adopt(prepared: Prepared, planned: ConnectionPlan, expected: TlsExpectation): void {
    const { config, plan } = planned
    this.#context = prepared.context
    this.#secrets = prepared.secrets
    this.#expected = expected
    const self = this as unknown as PgInternals
    // pg reads the TLS options when the server answers the SSLRequest, after connect() has checked them:
    // nobody may replace them in between (the object itself is frozen).
    for (const holder of [self, self.connection, self.connectionParameters]) {
      Object.defineProperty(holder, 'ssl', { value: config.ssl, writable: false, configurable: false, enumerable: true })
    }
    // pg falls back to PG* variables and ~/.pgpass for unset fields; the SDK already decided them.
    for (const field of ENV_BACKED_FIELDS) self.connectionParameters[field] = (config as unknown as Record<string, unknown>)[field]
    if (config.password === undefined) {
      const none = (): never => {
        throw new AzurePgError('AUTH_FAILED', 'The server asked for a password, and none is configured.', {
          hint: 'Set password (or PGPASSWORD in the env azure-pg-tls reads, or the connection string\'s password), or sign in with entra.',
        })
      }
      Object.defineProperty(self, 'password', { value: none, writable: true, enumerable: false, configurable: true })
      Object.defineProperty(self.connectionParameters, 'password', { value: none, writable: true, enumerable: false, configurable: true })
    }
    installAuthGuard(this, self.connection as unknown as GuardedConnection, prepared.settings.auth, prepared.context)
    this.#plan = plan
    const parameters = watchSessionParameters(self.connection as unknown as Parameters<typeof watchSessionParameters>[0])
    sessionParameters.set(this, parameters)
    let shutdownNotice: unknown
    self.connection.on('notice', (msg) => { if (isShutdownNotice(msg)) shutdownNotice = msg })
    const { settings } = prepared
    if (needsHostLoop(settings.hosts.length, settings.targetSessionAttrs)) {
      // What a server the loop moved past reported is forgotten when the next one is tried.
      this.#adoptHostLoop(prepared, () => { (parameters as Map<string, string>).clear() })
    } else {
      installAdaptiveConnect(self.connection as unknown as PgConnection, plan)
      // Failures name the phase the connection was in; a connection lost during a query is an AzurePgError too.
      this.#phase = trackPhase(self.connection as unknown as Parameters<typeof trackPhase>[0], plan.negotiation)
    }
    // The explainer reads the server of the moment (with a host list: each attempt's, then the chosen one's).
    // A pooled client's failures are also its pool's business (a server gone: failover); looked up when it fails.
    this.#convert = errorConverter((err) => {
      const context = this.#context ?? prepared.context
      const explained = failureExplainer(this.#phase ?? { current: 'tcp' }, context, prepared.secrets)(err)
      const hook = failureHooks.get(this)
      return hook === undefined ? explained : hook(this, err, explained, { parameters, shutdownNotice, context, secrets: prepared.secrets() })
    }, () => {
      this.end().catch(() => undefined)
    })
  }

  /**
   * A host list, or a session to check: connect() runs libpq's host loop (host-loop.ts), which opens and
   * verifies every session itself, each server against its own name, and gives each its own time limit.
   */
  #adoptHostLoop(prepared: Prepared, forgetServer: () => void): void {
    const self = this as unknown as PgInternals & { sslNegotiation?: unknown; user?: unknown }
    const { settings } = prepared
    if (settings.pgExtras['stream'] !== undefined) {
      throw invalidConfig('The stream option decides where the socket goes, so it cannot be used with a host list or target_session_attrs.', 'Remove stream, or name one server with target_session_attrs=any.')
    }
    const limitMs = limitOrDefault(self._connectionTimeoutMillis, 0)
    // Each server gets the whole limit (libpq's connect_timeout is per host): the loop times them, not pg.
    self._connectionTimeoutMillis = 0
    // pg's client must never send an SSLRequest of its own: the loop hands it sessions that are verified already.
    self.sslNegotiation = 'direct'
    const plan = (index: number): HostPlan => planHost(prepared, index)
    this.#hostLoop = { limitMs, plan }
    this.#phase = { current: 'tcp' }
    installHostLoop(self as unknown as LoopClient, self.connection as unknown as LoopConnection, {
      hostCount: settings.hosts.length, attrs: settings.targetSessionAttrs, balance: settings.loadBalanceHosts, limitMs, plan,
      facts: prepared.facts, secrets: prepared.secrets,
      attempting: (p, phase) => {
        forgetServer()
        this.#context = p.context
        this.#phase = phase
        restartAuthGuard(this, p.context)
      },
      chosen: (p) => {
        this.#context = p.context
        chosenServers.set(this, p)
        // The client names the server it is connected to, as libpq's PQhost does (telemetry reads these).
        self.host = p.target.host
        self.port = p.target.port
        self.connectionParameters['host'] = p.target.host
        self.connectionParameters['port'] = p.target.port
        if (this.#expected !== undefined) this.#expected = { ...this.#expected, host: p.target.host, port: p.target.port }
      },
    })
  }

  override connect(): Promise<pg.Client>
  override connect(callback: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): void
  override connect(callback?: ((err: Error) => void) | ((err: null, c: pg.Client) => void)): Promise<pg.Client> | void {
    const attempt = this.#guardedConnect()
    if (callback === undefined) return attempt
    const cb = callback as (err: Error | null, c?: pg.Client) => void
    attempt.then((c) => cb(null, c), (err: Error) => cb(err))
  }

  /**
   * pg's `end()`, with two guarantees pg lacks: it settles within {@link END_LIMIT_MS} even when the server
   * never closes its side (the socket is then closed from here), and a `connect()` still pending when
   * `end()` is called rejects (`CONNECTION_FAILED`, reason `closed`) instead of staying pending forever.
   */
  override end(): Promise<void>
  override end(callback: (err?: Error) => void): void
  override end(callback?: (err?: Error) => void): Promise<void> | void {
    const ended = this.#end()
    if (callback === undefined) return ended
    ended.then(() => callback(), callback)
  }

  #end(): Promise<void> {
    const self = this as unknown as PgInternals
    const con = self.connection
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined
      let done = false
      pgPaths.end.call(this, () => {
        done = true
        clearTimeout(timer)
        // pg leaves a connect() that end() overtook without an answer: give it one.
        const pending = self._connecting === true ? self._connectionCallback : undefined
        if (typeof pending === 'function') {
          self._connectionCallback = null
          pending(new Error('Connection terminated'))
        }
        resolve()
      })
      // pg's end() waits for the server to close the connection after its Terminate message: not forever.
      if (!done) timer = closeStreamAfter(con, END_LIMIT_MS)
    })
  }

  #check(): void {
    const self = this as unknown as PgInternals
    if (this.#expected === undefined) {
      throw new AzurePgError('INSECURE_TLS', 'This client has no prepared configuration; refused before connecting.', { hint: 'Create clients with createAzurePgClient (or azure-pg-tls/pg\'s Client).' })
    }
    checkBeforeConnect({
      host: self.host, port: self.port, ssl: self.ssl, connectionSsl: self.connection.ssl, connectionNegotiation: self.connection.sslNegotiation,
    }, this.#expected)
  }

  /** Checks each TLS session pg starts on this connection at the moment its handshake completes. */
  #guardSessions(): void {
    const con = (this as unknown as PgInternals).connection
    con.on('sslconnect', () => {
      const socket = con.stream as TLSSocket
      // The negotiation of this session: a direct attempt that fell back continues with the SSLRequest.
      const negotiation = con.sslNegotiation === 'direct' ? 'direct' : 'postgres'
      whenSecure(socket, () => {
        const problem = verifySession(socket, negotiation)
        if (problem !== undefined) socket.destroy(problem)
      })
    })
  }

  #explain(err: unknown): AzurePgError {
    const ctx = this.#context
    if (ctx !== undefined) return explainConnectError(err, ctx, this.#secrets(), this.#phase?.current)
    return err instanceof AzurePgError ? err : new AzurePgError('CONNECTION_FAILED', 'Connecting failed before the client was prepared.', { hint: 'See the cause.', cause: err })
  }

  #connectCalled = false

  async #guardedConnect(): Promise<pg.Client> {
    // pg overwrites the first caller's callback on a second connect(), leaving its promise unsettled forever.
    if (this.#connectCalled) {
      throw new AzurePgError('INVALID_CONFIG', 'connect() was called again on a client that is connecting or connected.', {
        hint: 'Create one client per connection (or use a pool); a pg.Client cannot be connected twice.',
      })
    }
    this.#connectCalled = true
    try {
      // end() came first (the drop-in Client prepares before connecting): pg would still open a socket.
      if ((this as unknown as PgInternals)._ending === true) throw new Error('Connection terminated')
      this.#check()
      this.#guardSessions()
    } catch (err) {
      const explained = this.#explain(err)
      tellRefusal(explained, 'connect')
      throw this.refuseQueries(explained)
    }
    const self = this as unknown as PgInternals
    // Telemetry (connect-telemetry.ts): undefined, and nothing done, unless someone listens.
    const trace = this.#plan === undefined ? undefined : traceConnect(self.connection, this.#plan, {
      host: String(self.host), port: Number(self.port), database: (this as unknown as { database?: string }).database, channelBinding: (this as unknown as { enableChannelBinding?: boolean }).enableChannelBinding === true,
    })
    try {
      const connected = trace === undefined ? await super.connect() : await trace.run(() => super.connect())
      trace?.end(undefined)
      return connected
    } catch (err) {
      const explained = this.#explain(err)
      trace?.end(explained)
      tellRefusal(explained, 'connect', trace?.connectId)
      throw this.refuseQueries(explained)
    }
  }

  /**
   * After a failed or refused connect: the client is not queryable, and queries queued before are failed
   * with `err`. pg leaves such a client queryable when its connection ended before an error event, or was
   * never opened, so a query would wait forever for a ReadyForQuery that cannot come. Returns `err`.
   */
  protected refuseQueries(err: unknown): unknown {
    ;(this as unknown as PgInternals)._queryable = false
    // A client refused before it was prepared has no explainer: its queries get the refusal itself.
    this.#convert ??= () => err
    pgPaths._errorAllQueries.call(this, err)
    return err
  }

  /**
   * For a client built without a prepared configuration (the `azure-pg-tls/pg` Client): prepares it, so
   * that {@link AzurePgClient.cancel} can open its verified TLS session. Undefined: nothing to wait for.
   */
  protected prepareToCancel(): Promise<void> | undefined {
    return undefined
  }

  /**
   * pg's cancel sends the cancel key in plaintext on a new socket; this one sends it inside verified
   * TLS, as PostgreSQL accepts a CancelRequest after SSL negotiation (and libpq 17 does). It never hands
   * the work to pg's own cancel, whatever copy or version of pg made `client`: a query still queued is
   * taken off the queue with no network at all, and only the running one is cancelled, over TLS.
   */
  cancel(client: pg.Client, query: pg.Query): void {
    const target = client as unknown as PgInternals
    const state = queryState(target, query)
    if (state !== 'running') {
      if (state === 'queued') dequeue(target, query)
      // Already on the wire (pipelining): pg drops its answer, as pg's cancel does.
      else if (state === 'sent') (query as unknown as { callback: unknown }).callback = () => undefined
      return
    }
    const preparing = this.#expected === undefined ? this.prepareToCancel() : undefined
    if (preparing !== undefined) {
      // Its answer is the query's own outcome, as with pg: a refusal to prepare has nobody else to go to.
      preparing.then(() => this.cancel(client, query), () => undefined)
      return
    }
    try {
      this.#check()
    } catch {
      // pg's cancel never throws: a canceller whose settings were changed after creation sends nothing.
      return
    }
    const loop = this.#hostLoop
    if (loop !== undefined) {
      // The cancel goes to the server the query runs on, over a session verified against that server's name.
      sendCancel(chosenServers.get(target) ?? loop.plan(0), target.processID, target.secretKey, limitOrDefault(loop.limitMs, DEFAULT_CONNECT_TIMEOUT_MS))
      return
    }
    this.#guardSessions()
    const self = this as unknown as PgInternals
    const con = self.connection
    // A cancel that gets no answer (a server that stalls after 'S') must not hold its socket forever.
    const timer = closeStreamAfter(con, limitOrDefault(self._connectionTimeoutMillis, DEFAULT_CONNECT_TIMEOUT_MS))
    con.once('end', () => clearTimeout(timer))
    // Errors of a cancel attempt have nobody to go to: the query's own outcome reports what happened.
    con.on('error', () => {})
    con.once('connect', () => { if (con.sslNegotiation !== 'direct') con.requestSsl() })
    con.once('sslconnect', () => {
      const socket = con.stream as TLSSocket
      // #guardSessions' check runs first and destroys a session that is not verified: send only on a live one.
      whenSecure(socket, () => {
        if (!socket.destroyed) {
          con.cancel(target.processID, target.secretKey)
          con.end()
        }
      })
    })
    con.connect(self.port, self.host)
  }
}

type CheckoutCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void

/** pg-pool's internals the SDK pool uses: its queue of waiting checkouts, and the options object it gives each new client. */
interface PgPoolInternals {
  _pendingQueue: QueuedCheckout[]
  _clients: unknown[]
  _pulseQueue(): void
  _isFull(): boolean
  _release(client: unknown, idleListener: unknown, err: unknown): void
  options: object
  ending: boolean
  newClient(pendingItem: QueuedCheckout): void
}

const poolPaths = pg.Pool.prototype as unknown as PgPoolInternals

const NOOP = (): void => undefined

/** The server each host-loop client settled on: where its queries run, so where a cancel must go. */
const chosenServers = new WeakMap<object, HostPlan>()

/** Each createAzurePgPool pool's prepared configuration, by the options object pg-pool gives its clients. */
const preparedFor = new WeakMap<object, Prepared>()

/**
 * The clients of every SDK pool: one class for all of them, so pg's code sees one shape of client
 * however many pools an application makes.
 */
class AzurePgPoolClient extends AzurePgClient {
  constructor(c: AzurePgClientConfig) {
    const prepared = preparedFor.get(c)
    if (prepared === undefined) throw new AzurePgError('INSECURE_TLS', 'This pool client has no prepared configuration; refused before connecting.', { hint: 'Create pools with createAzurePgPool (or azure-pg-tls/pg\'s Pool).' })
    // The connect limit as resolved for the pool; pg-pool holds the password non-enumerable, which a spread drops.
    super(prepared, { ...c, password: c.password, connectionTimeoutMillis: prepared.config.connectionTimeoutMillis })
  }
}

/**
 * A `pg.Pool` whose failures to hand out a client (a checkout time limit, a failing `onConnect` or
 * `verify` hook, a pool already ended) are {@link AzurePgError}s; its clients explain their own connect
 * failures. Its checkout time limit runs on one timer for the whole pool instead of pg-pool's one per
 * waiting checkout, so pg-pool's own copy of `connectionTimeoutMillis` is 0, which is also the options
 * object pg-pool gives each new client: a subclass's clients must take their connect limit from
 * elsewhere. The base of both SDK pools.
 *
 * It rides through a failover (failover-pool.ts): when a client's server says it is shutting down
 * (57P01/57P02/57P03), turns read-only (25006 from a server now a standby) or the connection is lost, the
 * idle clients of that server are dropped, checked-out ones are destroyed on release, the statement the
 * server ended fails with `FAILOVER`, and new checkouts reconnect with backoff within their time limit.
 * Its `failover` event ({@link FailoverEvent}) tells when a connection reached another server.
 */
export class CheckoutTimedPool extends pg.Pool {
  readonly #explain: (err: unknown) => AzurePgError
  readonly #limit: CheckoutLimit | undefined
  readonly #failover: PoolFailover

  /**
   * `limitMs`: how long a checkout may wait in the queue (0: no limit); `explain` makes a pool failure an
   * AzurePgError; `server`: the server its clients go to, as telemetry names the pool; `targetSessionAttrs`:
   * which servers a new connection may be handed out from.
   */
  constructor(config: pg.PoolConfig, limitMs: number, explain: (err: unknown) => AzurePgError, server?: PoolServer, targetSessionAttrs: TargetSessionAttrs = 'any') {
    super({ ...config, connectionTimeoutMillis: 0 })
    const internals = this as unknown as PgPoolInternals
    this.#explain = explain
    this.#failover = new PoolFailover(this as unknown as FailoverPoolInternals, {
      targetSessionAttrs, where: `${server?.host ?? 'the server'}:${String(server?.port ?? 5432)}`, budgetMs: limitMs > 0 ? limitMs : DEFAULT_CONNECT_TIMEOUT_MS,
    })
    this.#limit = limitMs > 0
      ? new CheckoutLimit(limitMs, () => internals._pendingQueue, () => {
        const err = this.#explain(new Error('timeout exceeded when trying to connect'))
        tellRefusal(err, 'checkout')
        return err
      })
      : undefined
    if (channels.poolCreated.hasSubscribers) {
      const { host, port, database } = server ?? {}
      channels.poolCreated.publish({ pool: this as unknown as PoolState, name: poolName(host, port, database), host, port, database } satisfies PoolCreatedMessage)
    }
  }

  override connect(): Promise<pg.PoolClient>
  override connect(callback: CheckoutCallback): void
  override connect(callback?: CheckoutCallback): Promise<pg.PoolClient> | void {
    if ((this as unknown as PgPoolInternals).ending) {
      const err = this.#explain(new Error('Cannot use a pool after calling end on the pool'))
      if (callback === undefined) return Promise.reject(err)
      callback(err, undefined, () => undefined)
      return
    }
    // Telemetry of the wait: only while someone listens (the one place a checkout then allocates).
    if (channels.poolWait.hasSubscribers) return this.#timedConnect(callback)
    // The caller's own callback goes to pg-pool: nothing is made per checkout.
    const result = callback === undefined ? super.connect() : super.connect(callback)
    this.#limit?.queued()
    return result
  }

  /**
   * A checkout whose wait is told to `azure-pg-tls:pool:wait`. Both forms go through pg-pool's callback form,
   * so a promise checkout makes one promise, as pg-pool's own would, and no promise derived from it: under an
   * OpenTelemetry context manager every promise runs async hooks, and this is the path of every query.
   */
  #timedConnect(callback?: CheckoutCallback): Promise<pg.PoolClient> | void {
    const started = performance.now()
    if (callback !== undefined) {
      super.connect((err, client, done) => {
        this.#toldWait(started, err === undefined || err === null)
        callback(err, client, done)
      })
      this.#limit?.queued()
      return
    }
    return new (this as unknown as { Promise: PromiseConstructor }).Promise<pg.PoolClient>((resolve, reject) => {
      super.connect((err, client) => {
        const ok = err === undefined || err === null
        this.#toldWait(started, ok)
        if (ok) resolve(client as pg.PoolClient)
        else reject(err)
      })
      this.#limit?.queued()
    })
  }

  #toldWait(started: number, ok: boolean): void {
    channels.poolWait.publish({ pool: this as unknown as PoolState, durationMs: performance.now() - started, ok } satisfies PoolWaitMessage)
  }

  /**
   * pg-pool opens a connection for a checkout (rare next to checkouts served by idle clients, so this
   * path may allocate). A failure of the pool's `onConnect` or `verify` hook is explained like a connect
   * failure; a checkout is answered once, and a client that arrives after its checkout was answered (a
   * `verify` that outlasted the time limit) goes back to the pool. One that waited in the queue stays timed.
   * During a failover a connect that fails because the server is not there yet is tried again after a
   * backoff, within the checkout's time limit; a connection to a server target_session_attrs does not
   * accept is closed and counts as such a failure.
   */
  newClient(pendingItem: QueuedCheckout): void {
    // A checkout reconnecting after a backoff, back through pg-pool's queue: its answer is set up already.
    if (this.#failover.reconnecting(pendingItem)) {
      this.#open(pendingItem)
      return
    }
    const answer = pendingItem.callback as CheckoutCallback
    let answered = false
    const finish: CheckoutCallback = (err, client, done) => {
      answered = true
      this.#failover.settled(pendingItem)
      answer(err === undefined || err === null || err instanceof AzurePgError ? err ?? undefined : this.#explain(err), client, done)
    }
    const once: CheckoutCallback = (err, client, done) => {
      if (answered) {
        if (client !== undefined && (err === undefined || err === null)) done()
        return
      }
      if (client !== undefined && (err === undefined || err === null)) {
        // Refused: the connection is closed, not kept, and the refusal is this attempt's failure.
        const judged = (refusal: unknown): void => {
          if (refusal === undefined) {
            if (answered) done()
            else finish(undefined, client, done)
            return
          }
          done(refusal)
          once(refusal as Error, undefined, NOOP)
        }
        const admitted = this.#failover.admit(client)
        if (admitted instanceof Promise) void admitted.then(judged)
        else judged(admitted)
        return
      }
      const reopen = (): void => {
        pendingItem.callback = once as QueuedCheckout['callback']
        this.#limit?.connecting(pendingItem)
        this.#openWhenRoom(pendingItem)
      }
      const abandon = (): void => finish(this.#explain(new Error('Cannot use a pool after calling end on the pool')), undefined, NOOP)
      if (err !== undefined && err !== null && this.#failover.retry(pendingItem, err, reopen, (item) => this.#limit?.connecting(item), abandon)) return
      finish(err, client, done)
    }
    pendingItem.callback = once as QueuedCheckout['callback']
    this.#limit?.connecting(pendingItem)
    this.#open(pendingItem)
  }

  /** A reconnect after a backoff: at once when the pool has room, else at the head of pg-pool's queue (it waited longest). */
  #openWhenRoom(pendingItem: QueuedCheckout): void {
    const internals = this as unknown as PgPoolInternals
    if (internals._isFull()) {
      internals._pendingQueue.unshift(pendingItem)
      return
    }
    this.#open(pendingItem)
  }

  /** pg-pool's newClient for `pendingItem`, with the new client watched for a lost server. */
  #open(pendingItem: QueuedCheckout): void {
    const internals = this as unknown as PgPoolInternals
    const clients = internals._clients.length
    try {
      poolPaths.newClient.call(this, pendingItem)
      if (internals._clients.length > clients) this.#failover.watch(internals._clients[internals._clients.length - 1] as object)
    } catch (err) {
      // pg-pool builds the client outside any try, so a client refused at construction (options changed
      // after the pool was made) would throw out of connect(), query() or a release(): answer this
      // checkout with the error instead, later, as pg-pool answers a failed connect.
      if (internals._clients.length > clients) internals._clients.pop()
      process.nextTick(() => {
        internals._pulseQueue()
        if (pendingItem.timedOut !== true) pendingItem.callback(err as Error, undefined, NOOP)
      })
    }
  }

  /** pg-pool's release: a client whose server was lost is destroyed, not kept for the next checkout. */
  _release(client: unknown, idleListener: unknown, err: unknown): void {
    const retired = (err === undefined || err === null || err === false) && this.#failover.retiring(client as object)
    poolPaths._release.call(this, client, idleListener, retired ? new Error('the server of this client was lost (failover)') : err)
  }

  override end(): Promise<void>
  override end(callback: () => void): void
  override end(callback?: () => void): Promise<void> | void {
    const ended = callback === undefined ? super.end() : super.end(callback)
    // Checkouts waiting out a reconnect backoff are answered now: the pool will not connect again.
    this.#failover.end()
    return ended
  }

  /** Listens for the pool's events: pg-pool's, and `failover` (see {@link FailoverEvent}). */
  override on(event: 'failover', listener: (event: FailoverEvent) => void): this
  override on<K extends 'error' | 'release' | 'connect' | 'acquire' | 'remove'>(event: K, listener: K extends 'error' | 'release' ? (err: Error, client: pg.PoolClient) => void : (client: pg.PoolClient) => void): this
  override on(event: string, listener: (...args: never[]) => void): this {
    return super.on(event as 'error', listener as () => void)
  }
}

/** The server a pool's clients go to, as telemetry names the pool. */
export interface PoolServer {
  readonly host: string | undefined
  readonly port: number | undefined
  readonly database: string | undefined
}

/**
 * The pool createAzurePgPool makes: a `pg.Pool` whose clients share one prepared configuration, and that
 * rides through a failover (see {@link CheckoutTimedPool}): `pool.on('failover', (e) => …)`.
 */
export class AzurePgPool extends CheckoutTimedPool {
  /** Use {@link createAzurePgPool}. */
  constructor(config: pg.PoolConfig, prepared: Prepared) {
    const { host, port, database, hosts, targetSessionAttrs } = prepared.settings
    super(config, checkoutLimitMs(prepared.config.connectionTimeoutMillis ?? 0, hosts.length, targetSessionAttrs), (err) => explainConnectError(err, prepared.context, prepared.secrets()), { host, port, database }, targetSessionAttrs)
    preparedFor.set((this as unknown as PgPoolInternals).options, prepared)
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
  // pg answers whatever the server asks for and connects to one host: what only AzurePgClient enforces is refused here.
  return withHiddenPassword((await prepared(options, (settings) => {
    assertStaticTarget(settings)
    assertPlainPgCanEnforce(settings.auth)
  })).config)
}

/**
 * Resolves (then runs `check` on the settings) and prepares options; a refusal is told to telemetry
 * (`azure-pg-tls:refused`, during `configure`).
 */
async function prepared(options: AzurePgOptions, check?: (settings: Settings) => void): Promise<Prepared> {
  try {
    const settings = resolveOptions(options)
    check?.(settings)
    return await prepare(settings)
  } catch (err) {
    tellRefusal(err, 'configure')
    throw err
  }
}

/**
 * A `pg.Client` (not yet connected) that can only talk to a server whose certificate chains to a
 * trusted root and carries the host name. `connect()` failures are `AzurePgError`s with a fix.
 */
export async function createAzurePgClient(options: AzurePgOptions = {}): Promise<pg.Client> {
  return new AzurePgClient(await prepared(options))
}

/**
 * A `pg.Pool` whose every client is an Azure-verified client, resolved once for the whole pool. It rides
 * through a failover: a statement whose server went away fails with `FAILOVER` (retry the transaction),
 * the pool drops that server's connections and reconnects, and emits `failover` once another server answers.
 */
export async function createAzurePgPool(options: AzurePgPoolOptions = {}): Promise<AzurePgPool> {
  return poolOf(await prepared(options))
}

/** The pool of a prepared configuration (createAzurePgPool's last step; tests build settings the options cannot express yet). */
export function poolOf(ready: Prepared): AzurePgPool {
  return new AzurePgPool({ ...ready.config, Client: AzurePgPoolClient as unknown as typeof pg.Client }, ready)
}
