// The failover side of an SDK pool (both createAzurePgPool's and the `azure-pg-tls/pg` drop-in's): it
// watches its clients' failures, and when one says that its server is gone (shutting down, read-only
// after a promotion elsewhere, or the connection lost), it drops the idle clients of that server, marks
// the checked-out ones to be destroyed on release, and lets new checkouts reconnect with backoff while
// the server is missing. New connections resolve the host name again (pg opens each with a fresh DNS
// lookup; nothing in the SDK keeps an address: learned facts are keyed by the address, never chosen by
// it). The first connection that reaches another server ends the failover: the pool's `failover` event.
// Statements are never retried here; the failing one's error says FAILOVER, and the application retries.
import type { EventEmitter } from 'node:events'
import type { TLSSocket } from 'node:tls'
import type { AzurePgError } from '../errors.js'
import { explainFailover, type ConnectContext } from '../explain.js'
import type { TargetSessionAttrs } from '../options.js'
import type { QueuedCheckout } from './checkout-limit.js'
import { backoffDelay, failoverSignalOf, retryableDuringFailover, serverIdentityOf, sqlStateOf, type FailoverEvent, type FailoverSignal, type ServerIdentity } from './failover.js'
import { fallbackAttrs, matchesTargetSessionAttrs, needsSessionFacts, querySessionFacts, sessionAttrsError, sessionFactsFromParameters, type SessionFacts } from './session-attrs.js'

/** What a client knows of its session when it fails: what the server reported, and how to explain a failure. */
export interface SessionView {
  readonly parameters: ReadonlyMap<string, string>
  /** The server's notice that it is ending the session (see isShutdownNotice), if one came. */
  readonly shutdownNotice: unknown
  readonly context: ConnectContext
  readonly secrets: readonly string[]
}

/**
 * A pool's look at each failure of one of its clients: it may notice that the server is gone and answer
 * with another error (FAILOVER); `explained` (undefined for a SQL error) is kept otherwise.
 */
export type FailureHook = (client: object, raw: unknown, explained: AzurePgError | undefined, session: SessionView) => AzurePgError | undefined

/** The hook of each pooled client, set by its pool when it makes the client; read by the client when it fails. */
export const failureHooks = new WeakMap<object, FailureHook>()

/** What each connection's server reported of itself (in_hot_standby, default_transaction_read_only), by client. */
export const sessionParameters = new WeakMap<object, ReadonlyMap<string, string>>()

/** pg-pool's internals the failover side uses. */
export interface FailoverPoolInternals extends EventEmitter {
  _clients: object[]
  _idle: Array<{ client: object }>
  _pulseQueue(): void
  _remove(client: object): void
  ending: boolean
}

/** A pooled pg client as far as this module reads it. */
interface PooledClient {
  connection?: { stream?: unknown }
  _activeQuery?: unknown
  activeQuery?: unknown
  query(text: string): Promise<{ rows: unknown[] }>
}

/** The pool's failover settings. */
export interface FailoverSettings {
  /** Which servers a new connection may be handed out from (libpq's target_session_attrs). */
  readonly targetSessionAttrs: TargetSessionAttrs
  /** The server the pool goes to, `host:port`, for messages. */
  readonly where: string
  /** The longest a checkout keeps reconnecting during a failover when it has no deadline of its own: the connect limit. */
  readonly budgetMs: number
}

/** The failover the pool is in: the server it lost, since when, and what said so. */
interface Loss {
  from: ServerIdentity | undefined
  readonly signal: FailoverSignal
  readonly sqlState: string | undefined
  readonly at: number
}

/** A checkout reconnecting with backoff. */
interface Retry {
  attempt: number
  readonly deadline: number
  /** The backoff wait now running, and what to do if the pool ends during it (answer the checkout). */
  timer: NodeJS.Timeout | undefined
  abandon: (() => void) | undefined
}

/** Servers already reported as failed over from: kept so a late error from one does not start a second failover. */
const REPORTED_LIMIT = 16

/** True when a pg client (of any pg 8 version) is running a query now. */
function hasActiveQuery(client: PooledClient): boolean {
  const active = '_activeQuery' in client ? client._activeQuery : client.activeQuery
  return active !== undefined && active !== null
}

/** The failover state and decisions of one pool. */
export class PoolFailover {
  readonly #pool: FailoverPoolInternals
  readonly #settings: FailoverSettings
  readonly #identities = new WeakMap<object, ServerIdentity>()
  readonly #retiring = new WeakSet<object>()
  /** Whether any client was ever retired: until then a release (every pooled query's) looks nothing up. */
  #retired = false
  readonly #retries = new WeakMap<QueuedCheckout, Retry>()
  readonly #waiting = new Set<Retry>()
  readonly #reported = new Set<string>()
  #loss: Loss | undefined

  constructor(pool: FailoverPoolInternals, settings: FailoverSettings) {
    this.#pool = pool
    this.#settings = settings
  }

  /** Starts watching a client the pool just made. */
  watch(client: object): void {
    failureHooks.set(client, (c, raw, explained, session) => this.#failed(c as PooledClient, raw, explained, session))
  }

  /** True when a released client must be destroyed rather than kept: its server was lost. */
  retiring(client: object): boolean {
    return this.#retired && this.#retiring.has(client)
  }

  #failed(client: PooledClient, raw: unknown, explained: AzurePgError | undefined, session: SessionView): AzurePgError | undefined {
    let signal = failoverSignalOf(raw, explained, session.parameters)
    if (signal === undefined) return explained
    // A connection closed right after the server's notice that it is ending the session: the server said so.
    let said = raw
    if (signal === 'lost' && session.shutdownNotice !== undefined) {
      signal = 'shutdown'
      said = session.shutdownNotice
    }
    // Before login (a connect refused with 57P03) only a server shutting down says anything about the server.
    if (explained !== undefined && explained.phase !== 'query') {
      if (signal === 'shutdown') this.#lost(undefined, signal, sqlStateOf(raw))
      return explained
    }
    this.#lost(this.#identities.get(client), signal, sqlStateOf(said) ?? (said as { code?: string }).code)
    // The statement the server ended gets FAILOVER; an idle client's loss (and a loss without a word) keeps its error.
    if (signal === 'lost' || !hasActiveQuery(client)) return explained
    return explainFailover(said, signal, session.context, session.secrets)
  }

  /** The server `from` (undefined: not known) is gone: drop its idle clients, retire its checked-out ones, start reconnecting. */
  #lost(from: ServerIdentity | undefined, signal: FailoverSignal, sqlState: string | undefined): void {
    const same = (client: object): boolean => from === undefined || this.#identities.get(client)?.id === from.id
    const pool = this.#pool
    const idle = new Set(pool._idle.map((item) => item.client))
    for (const client of pool._clients) {
      if (idle.has(client) || !same(client)) continue
      this.#retiring.add(client)
      this.#retired = true
    }
    // The idle ones are dropped on the next tick: this runs inside pg's handling of the failing client's
    // message, where neither its state nor pg-pool's should change under it.
    process.nextTick(() => {
      let dropped = false
      for (const item of [...pool._idle]) {
        if (!same(item.client)) continue
        pool._remove(item.client)
        dropped = true
      }
      // Waiting checkouts may now open connections in the room made.
      if (dropped) pool._pulseQueue()
    })
    // A late error from a server already reported (a client released after the failover) starts nothing new.
    if (from !== undefined && this.#reported.has(from.id)) return
    if (this.#loss === undefined) this.#loss = { from, signal, sqlState, at: performance.now() }
    else this.#loss.from ??= from
  }

  /**
   * A new connection (or an idle one handed to a checkout): records its server, checks it against
   * target_session_attrs, and ends a failover when it reached another server. Undefined: hand it out; an
   * error: the refusal (the client is to be destroyed); a promise: the check needs a query first, and
   * resolves to one of those (the query's own failure being the refusal then). Rejects never.
   */
  admit(client: object): unknown {
    const c = client as PooledClient
    if (!this.#identities.has(client)) {
      const identity = serverIdentityOf(c.connection?.stream as TLSSocket | undefined)
      if (identity !== undefined) this.#identities.set(client, identity)
    }
    const attrs = this.#admitted()
    if (!needsSessionFacts(attrs)) {
      this.#reached(client)
      return undefined
    }
    const reported = sessionFactsFromParameters(sessionParameters.get(client) ?? new Map<string, string>())
    if (reported !== undefined) return this.#judge(client, reported)
    // A server before PostgreSQL 14 reports nothing: ask it, as libpq does (the connect limit bounds the wait).
    return querySessionFacts(c).then((facts) => this.#judge(client, facts), (err: unknown) => err ?? new Error('the session check failed'))
  }

  /**
   * What a connection must be to be handed out: target_session_attrs, except that `prefer-standby` admits
   * any server, as libpq's second pass does (the host loop has already preferred a standby where one answered).
   */
  #admitted(): TargetSessionAttrs {
    const attrs = this.#settings.targetSessionAttrs
    return fallbackAttrs(attrs) ?? attrs
  }

  #judge(client: object, facts: SessionFacts): AzurePgError | undefined {
    const attrs = this.#admitted()
    if (!matchesTargetSessionAttrs(attrs, facts)) return sessionAttrsError(attrs, facts, this.#settings.where)
    this.#reached(client)
    return undefined
  }

  /** A client of an acceptable server is handed out: a failover in progress ends here. */
  #reached(client: object): void {
    const loss = this.#loss
    if (loss === undefined) return
    const to = this.#identities.get(client)
    if (to === undefined) return
    this.#reported.delete(to.id)
    this.#loss = undefined
    // The same server again (a restart): not a failover.
    if (loss.from === undefined || loss.from.id === to.id) return
    if (this.#reported.size >= REPORTED_LIMIT) this.#reported.clear()
    this.#reported.add(loss.from.id)
    const event: FailoverEvent = { from: loss.from, to, signal: loss.signal, sqlState: loss.sqlState, ms: Math.round(performance.now() - loss.at) }
    // Told after the checkout is answered, outside pg-pool's code: a listener that throws cannot break the pool.
    process.nextTick(() => this.#pool.emit('failover', event))
  }

  /**
   * After a failed connect: during a failover, schedules `reopen` after a backoff and returns true when a
   * retry fits before the checkout's deadline (set here, the connect limit from now, when it had none:
   * `timed` then puts it under the pool's checkout limit). False: answer the checkout with `err`. If the
   * pool ends during the wait, `abandon` answers the checkout instead.
   */
  retry(item: QueuedCheckout, err: unknown, reopen: () => void, timed: (item: QueuedCheckout) => void, abandon: () => void): boolean {
    if (this.#loss === undefined || item.timedOut === true || this.#pool.ending || !retryableDuringFailover(err)) return false
    const now = performance.now()
    let retry = this.#retries.get(item)
    if (retry === undefined) {
      if (item.deadline === undefined) {
        item.deadline = now + this.#settings.budgetMs
        timed(item)
      }
      retry = { attempt: 0, deadline: item.deadline, timer: undefined, abandon: undefined }
      this.#retries.set(item, retry)
    }
    const wait = backoffDelay(retry.attempt++, retry.deadline - now)
    if (wait === undefined) return false
    const r = retry
    this.#waiting.add(r)
    r.abandon = abandon
    r.timer = setTimeout(() => {
      this.#stopWaiting(r)
      reopen()
    }, wait)
    return true
  }

  #stopWaiting(r: Retry): void {
    this.#waiting.delete(r)
    clearTimeout(r.timer)
    r.timer = undefined
    r.abandon = undefined
  }

  /** True for a checkout that is reconnecting (it comes back through pg-pool's queue: already answered for). */
  reconnecting(item: QueuedCheckout): boolean {
    return this.#retries.has(item)
  }

  /** The checkout was answered: no more retries for it. */
  settled(item: QueuedCheckout): void {
    const r = this.#retries.get(item)
    if (r !== undefined) this.#stopWaiting(r)
  }

  /** The pool is ending: every checkout waiting to reconnect is answered now, not after its backoff. */
  end(): void {
    for (const r of [...this.#waiting]) {
      const abandon = r.abandon
      this.#stopWaiting(r)
      abandon?.()
    }
  }
}
