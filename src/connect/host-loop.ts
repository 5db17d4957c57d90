// libpq's host loop inside one pg.Client: connect() tries the servers of the host list in order (shuffled
// per connect with load_balance_hosts=random), each with its own time limit (libpq's connect_timeout is
// per host), each verified against its own name (secure-socket.ts opens the session with that server's TLS
// options), each sent its own Azure login name; then the session is judged against target_session_attrs
// (session-check.ts). pg's Client sees one connection: the failures of servers the loop moved past never
// reach it, and its first ReadyForQuery is held back until the session is judged. As libpq, the loop moves
// on only when a server could not be reached (TCP), did not finish within the time limit, answered "cannot
// connect now" (57P03), or is not the kind of server asked for; a failure after the server answered (TLS,
// authentication, any other server error) ends the connect, naming what happened at each server.
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { LoadBalanceHosts, TargetSessionAttrs } from '../options.js'
import { AzurePgError, type ConnectionPhase } from '../errors.js'
import { explainConnectError, where } from '../explain.js'
import { learnFromVersion, learnGroupFrom, markSecure } from './adaptive-connect.js'
import type { HostPlan } from './connection-plan.js'
import { hostAttempts, type HostAttempt } from './host-order.js'
import type { LearnedFacts } from './learned-facts.js'
import type { PhaseTracker } from './phase.js'
import { closed, openSecureSocket, type SecureSocketAttempt } from './secure-socket.js'
import { judgeSession, reportedFlag, type SessionVerdict } from './session-check.js'

/** pg's Connection, as far as the loop drives it. */
export interface LoopConnection {
  stream: unknown
  sslNegotiation: unknown
  _connecting?: boolean
  _ending?: boolean
  _keepAlive?: boolean
  _keepAliveInitialDelayMillis?: number
  connect(port: unknown, host: unknown): void
  attachListeners(stream: unknown): void
  query(text: string): void
  emit(event: string | symbol, ...args: unknown[]): boolean
}

/** pg's Client, as far as the loop reads and sets it. */
export interface LoopClient {
  user: unknown
  connectionParameters: Record<string, unknown>
  _ending?: boolean
  _connectionError?: boolean
}

/** What the loop needs from the client it runs in. */
export interface HostLoopSetup {
  readonly hostCount: number
  readonly attrs: TargetSessionAttrs
  readonly balance: LoadBalanceHosts
  /** Each server's time limit in ms (0: none), as libpq's connect_timeout. */
  readonly limitMs: number
  /** Plans an attempt at server `index`, from what is known of it now. */
  readonly plan: (index: number) => HostPlan
  readonly facts: LearnedFacts | undefined
  readonly secrets: () => readonly string[]
  /** An attempt starts: its failures are explained with `context` in `phase`. */
  readonly attempting: (plan: HostPlan, phase: PhaseTracker) => void
  /** The session of `plan` was taken: the client is connected to that server. */
  readonly chosen: (plan: HostPlan) => void
}

/** What one attempt ended with, for the final message. */
interface Outcome {
  readonly plan: HostPlan
  readonly want: HostAttempt['want']
  readonly error: AzurePgError
  /** In words, after the server's name: "refused the connection", "is read-only". */
  readonly brief: string
}

/** Terminate ('X'): the polite goodbye to a server whose session is not the one asked for. */
const TERMINATE = Buffer.from([0x58, 0, 0, 0, 4])

/** pg's text for a connect that end() overtook; the error table explains it. */
const ENDED = 'Connection terminated'

/** The messages of the check query, kept from pg (which has no query of its own running). */
const CHECK_MESSAGES = new Set(['rowDescription', 'dataRow', 'commandComplete', 'emptyQuery'])

/** A phase tracker the loop moves itself (one per attempt, no listeners to leave behind). */
class AttemptPhase implements PhaseTracker {
  current: ConnectionPhase = 'tcp'
}

/** One attempt at one server. */
interface Attempt {
  readonly plan: HostPlan
  readonly want: HostAttempt['want']
  readonly phase: AttemptPhase
  stage: 'transport' | 'login' | 'check' | 'over'
  /** This attempt's session is the connection's now. */
  won: boolean
  opening: SecureSocketAttempt | undefined
  tls: TLSSocket | undefined
  raw: Socket | undefined
  timer: NodeJS.Timeout | undefined
  timedOut: boolean
  inHotStandby: boolean | undefined
  defaultReadOnly: boolean | undefined
  /** The login's ReadyForQuery, held until the session is judged. */
  ready: unknown
  /** The check query's verdict-maker and the value it answered. */
  judge: ((value: string | null) => SessionVerdict) | undefined
  value: string | null
}

/**
 * Installs the loop on a client's Connection: pg's `connect(port, host)` (called once, by the client's
 * connect()) starts it. Returns nothing; everything it does reaches pg as the events of one connection.
 */
export function installHostLoop(client: LoopClient, con: LoopConnection, setup: HostLoopSetup): void {
  con.connect = (): void => {
    con._connecting = true
    new HostLoopRun(client, con, setup).start()
  }
}

class HostLoopRun {
  readonly #client: LoopClient
  readonly #con: LoopConnection
  readonly #setup: HostLoopSetup
  readonly #attempts: HostAttempt[]
  readonly #outcomes: Outcome[] = []
  #next = 0
  #attempt: Attempt | undefined
  /** The emit the gate passes events on with (pg's, or what was installed before the loop). */
  readonly #passOn: (event: string | symbol, ...args: unknown[]) => boolean
  readonly #gate: (event: string | symbol, ...args: unknown[]) => boolean
  #active = true

  constructor(client: LoopClient, con: LoopConnection, setup: HostLoopSetup) {
    this.#client = client
    this.#con = con
    this.#setup = setup
    this.#attempts = hostAttempts(setup.hostCount, setup.attrs, setup.balance)
    const emit = con.emit
    this.#passOn = (event, ...args) => emit.call(con, event, ...args)
    this.#gate = (event, ...args) => (this.#active ? this.#onEvent(event, args) : this.#passOn(event, ...args))
    // Only while connecting: an open connection's messages go to pg with nothing in between.
    con.emit = this.#gate
  }

  start(): void {
    this.#tryNext()
  }

  /** pg has its answer, or end() was called: nothing more is tried. */
  #pgGaveUp(): boolean {
    return this.#client._connectionError === true
  }

  #ending(): boolean {
    return this.#con._ending === true || this.#client._ending === true
  }

  #tryNext(): void {
    if (this.#pgGaveUp()) {
      this.#stop()
      return
    }
    if (this.#ending()) {
      this.#finish(new Error(ENDED), true)
      return
    }
    const next = this.#attempts[this.#next++]
    if (next === undefined) {
      this.#finish(undefined, false)
      return
    }
    const plan = this.#setup.plan(next.index)
    const attempt: Attempt = {
      plan, want: next.want, phase: new AttemptPhase(), stage: 'transport', won: false, opening: undefined, tls: undefined, raw: undefined,
      timer: undefined, timedOut: false, inHotStandby: undefined, defaultReadOnly: undefined, ready: undefined, judge: undefined, value: null,
    }
    this.#attempt = attempt
    // The login name this server gets (Single Server names the server in it).
    this.#client.user = plan.user
    this.#client.connectionParameters['user'] = plan.user
    this.#setup.attempting(plan, attempt.phase)
    if (this.#setup.limitMs > 0) {
      attempt.timer = setTimeout(() => {
        attempt.timedOut = true
        this.#failed(attempt, new Error('timeout expired'))
      }, this.#setup.limitMs)
      attempt.timer.unref()
    }
    const facts = this.#setup.facts
    attempt.opening = openSecureSocket({
      host: plan.target.host, connectHost: plan.target.connectHost, port: plan.target.port,
      negotiation: plan.negotiation, fallback: plan.fallback, ssl: plan.ssl,
      onSocket: (raw) => {
        attempt.raw = raw
        // pg's end() closes the stream it holds: the socket being tried.
        this.#con.stream = raw
      },
      onTcp: (negotiation) => {
        // The negotiation of this session, as the session guard (client.ts) and telemetry read it.
        this.#con.sslNegotiation = negotiation
        attempt.phase.current = negotiation === 'direct' ? 'tls-handshake' : 'tls-request'
        if (this.#con._keepAlive === true) attempt.raw?.setKeepAlive(true, this.#con._keepAliveInitialDelayMillis)
        // For telemetry and the phase trackers that listen (pg's own listener sends nothing: the client's negotiation reads 'direct').
        this.#passOn('connect')
      },
      onDirectRefused: () => facts?.record(plan.key, { direct: false }),
    })
    attempt.opening.done.then(({ tls, raw }) => this.#handOver(attempt, tls, raw), (err: unknown) => this.#failed(attempt, err))
  }

  /** The session is verified: pg gets it, and logs in. */
  #handOver(attempt: Attempt, tls: TLSSocket, raw: Socket): void {
    const con = this.#con
    // As pg wires its own streams. While the loop runs, a failure of this session is a failure of the attempt
    // (#failed ignores one that is over); once the session is the connection's, pg hears of it as usual.
    const report = (error: NodeJS.ErrnoException): void => {
      if (!attempt.won) {
        this.#failed(attempt, error)
        return
      }
      if (con._ending === true && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return
      con.emit('error', error)
    }
    raw.on('error', report)
    tls.on('error', report)
    tls.once('close', () => {
      if (attempt.won) con.emit('end')
      else this.#failed(attempt, closed('Connection terminated unexpectedly'))
    })
    if (attempt.stage === 'over') {
      tls.destroy()
      return
    }
    attempt.tls = tls
    attempt.stage = 'login'
    attempt.phase.current = 'startup'
    this.#learnGroup(attempt.plan, tls)
    con.stream = tls
    markSecure(tls)
    con.attachListeners(tls)
    // pg sends the startup message now, as after its own handshake.
    this.#passOn('sslconnect')
  }

  #learnGroup(plan: HostPlan, tls: TLSSocket): void {
    const facts = this.#setup.facts
    if (facts !== undefined && plan.learnGroup) learnGroupFrom(facts, plan, tls)
  }

  /** The gate: every event of the Connection while the loop runs. */
  #onEvent(event: string | symbol, args: unknown[]): boolean {
    const attempt = this.#attempt
    if (attempt === undefined || attempt.stage === 'over') return this.#passOn(event, ...args)
    // Before its TLS is up no stream of this attempt is read: a server's message now is the rest of a chunk
    // from a server the loop has just left, and nobody answers it (pg would write its answer, a password,
    // into the new socket, before its TLS).
    if (attempt.stage === 'transport' && event !== 'error' && event !== 'end') return true
    // Once the login is over (its ReadyForQuery), a server being checked may only answer the check query:
    // an authentication request now is not answered, and ends the connect as a broken server.
    if (attempt.stage === 'check' && typeof event === 'string' && event.startsWith('authentication')) {
      this.#failed(attempt, new Error('The server sent an authentication request after its login was complete.'))
      return true
    }
    switch (event) {
      case 'error':
        this.#failed(attempt, args[0])
        return true
      case 'errorMessage':
        if (attempt.stage === 'check') {
          // The check query failed: libpq moves on (its answer stays null); the ReadyForQuery after it decides.
          return true
        }
        this.#failed(attempt, args[0])
        return true
      case 'end':
        this.#failed(attempt, closed('Connection terminated unexpectedly'))
        return true
      case 'parameterStatus':
        this.#parameter(attempt, args[0] as { parameterName?: string; parameterValue?: string })
        return this.#passOn(event, ...args)
      case 'readyForQuery':
        if (attempt.stage === 'login') {
          attempt.phase.current = 'query'
          attempt.ready = args[0]
          this.#judge(attempt, judgeSession(attempt.want, attempt))
        } else if (attempt.stage === 'check') {
          const judge = attempt.judge
          if (judge !== undefined) this.#judge(attempt, judge(attempt.value))
        }
        return true
      default:
        if (attempt.stage === 'check' && typeof event === 'string' && CHECK_MESSAGES.has(event)) {
          if (event === 'dataRow') {
            const fields = (args[0] as { fields?: unknown[] }).fields
            const v = fields?.[0]
            attempt.value = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : null
          }
          return true
        }
        if (typeof event === 'string' && event.startsWith('authentication') && attempt.phase.current === 'startup') attempt.phase.current = 'authentication'
        return this.#passOn(event, ...args)
    }
  }

  #parameter(attempt: Attempt, msg: { parameterName?: string; parameterValue?: string }): void {
    switch (msg.parameterName) {
      case 'in_hot_standby': attempt.inHotStandby = reportedFlag(msg.parameterValue); break
      case 'default_transaction_read_only': attempt.defaultReadOnly = reportedFlag(msg.parameterValue); break
      case 'server_version': {
        const facts = this.#setup.facts
        if (facts !== undefined) learnFromVersion(facts, attempt.plan.key, msg.parameterValue)
        break
      }
    }
  }

  #judge(attempt: Attempt, verdict: SessionVerdict): void {
    switch (verdict.kind) {
      case 'accept':
        this.#succeed(attempt)
        return
      case 'ask':
        attempt.stage = 'check'
        attempt.judge = verdict.judge
        attempt.value = null
        this.#con.query(verdict.sql)
        return
      case 'reject': {
        const { plan } = attempt
        const error = new AzurePgError('CONNECTION_FAILED', `The server at ${where(plan.context)} ${verdict.why}, and target_session_attrs asks for ${attempt.want === 'standby' ? 'a standby' : `a ${attempt.want} server`}.`, {
          hint: 'The session was closed and the next server of the list tried.', reason: 'session-attrs', phase: 'query',
        })
        this.#abandon(attempt, true)
        this.#outcomes.push({ plan, want: attempt.want, error, brief: verdict.why })
        this.#tryNext()
      }
    }
  }

  #succeed(attempt: Attempt): void {
    attempt.stage = 'over'
    attempt.won = true
    clearTimeout(attempt.timer)
    this.#stop()
    this.#setup.chosen(attempt.plan)
    this.#passOn('readyForQuery', attempt.ready)
  }

  /** Closes an attempt's session (politely, with Terminate, when it is open) and forgets it. */
  #abandon(attempt: Attempt, polite: boolean): void {
    attempt.stage = 'over'
    clearTimeout(attempt.timer)
    const tls = attempt.tls
    if (tls !== undefined && polite && !tls.destroyed) tls.end(TERMINATE, () => tls.destroy())
    else tls?.destroy()
    attempt.raw?.destroy()
    attempt.opening?.abort(new Error('abandoned'))
  }

  #failed(attempt: Attempt, err: unknown): void {
    if (attempt !== this.#attempt || attempt.stage === 'over' || !this.#active) return
    const phase = attempt.phase.current
    this.#abandon(attempt, false)
    if (this.#ending()) {
      this.#finish(new Error(ENDED), true)
      return
    }
    const error = explainConnectError(err, attempt.plan.context, this.#setup.secrets(), phase)
    const cannotConnectNow = (err as { code?: unknown } | null)?.code === '57P03'
    // libpq's rule: move on when the server could not be reached, ran out of its time, or cannot take
    // connections now; a failure after it answered (TLS, login, anything else) ends the connect.
    const moveOn = attempt.timedOut || phase === 'tcp' || cannotConnectNow
    this.#outcomes.push({ plan: attempt.plan, want: attempt.want, error, brief: briefOf(error, attempt.timedOut, cannotConnectNow) })
    if (moveOn) this.#tryNext()
    else this.#finish(undefined, false)
  }

  /** Takes the gate off: from here on, pg hears the Connection directly. */
  #stop(): void {
    this.#active = false
    if (this.#con.emit === this.#gate) delete (this.#con as { emit?: unknown }).emit
  }

  /** The connect failed: pg gets one error (and then the end of the connection), as from a single server. */
  #finish(raw: Error | undefined, ended: boolean): void {
    if (!this.#active) return
    const error = ended || raw !== undefined ? raw ?? new Error(ENDED) : this.#finalError()
    this.#stop()
    if (this.#pgGaveUp()) return
    this.#con.emit('error', error)
    this.#con.emit('end')
  }

  #finalError(): AzurePgError {
    const outcomes = this.#outcomes
    const last = outcomes[outcomes.length - 1]
    if (last === undefined) return new AzurePgError('CONNECTION_FAILED', 'No server was tried.', { hint: 'Check the host list.', reason: 'other' })
    if (this.#setup.hostCount === 1 && outcomes.length === 1) return last.error
    const tried = outcomes.map((o) => `${where(o.plan.context)}${this.#setup.attrs === 'prefer-standby' ? ` (${o.want === 'standby' ? 'standby wanted' : 'any'})` : ''} ${o.brief}`)
    const untried = this.#next < this.#attempts.length
      ? ' The other servers were not tried: a failure after a server has answered ends the connect, as in libpq.'
      : ''
    const attrs = this.#setup.attrs === 'any' ? '' : ` with target_session_attrs=${this.#setup.attrs}`
    const message = `Connecting${attrs} to the host list (${this.#setup.hostCount} servers) failed: ${tried.join('; ')}.${untried}`
    const hint = last.error.reason === 'session-attrs'
      ? 'No server of the list is of the kind asked for right now (during a failover, for a moment, none is the primary): retry shortly, or check target_session_attrs against the servers\' roles (azure-pg-tls doctor shows each one\'s).'
      : last.error.hint
    return new AzurePgError(last.error.code, message, {
      hint, cause: last.error, reason: last.error.reason, phase: last.error.phase, errors: outcomes.map((o) => o.error),
    })
  }
}

/** One attempt's outcome in a few words, after the server's name. */
function briefOf(error: AzurePgError, timedOut: boolean, cannotConnectNow: boolean): string {
  if (timedOut) return 'did not complete the connection within the time limit'
  if (cannotConnectNow) return 'cannot take connections now (starting up, shutting down or not a hot standby)'
  switch (error.code) {
    case 'TLS_VERIFY_FAILED': return `failed TLS verification (${error.reason ?? 'other'})`
    case 'SERVER_REFUSED_TLS': return 'does not offer TLS'
    case 'AUTH_FAILED': return 'rejected the login'
    case 'AUTH_METHOD_REFUSED': return 'asked for an authentication method the configuration refuses'
    case 'ACCESS_DENIED': return 'does not admit this connection (pg_hba / firewall)'
    case 'DATABASE_NOT_FOUND': return 'has no such database'
    case 'SERVER_REQUIRES_TLS': return 'reports that the connection did not use TLS'
    default:
      switch (error.reason) {
        case 'refused': return 'refused the connection'
        case 'dns': return 'did not resolve'
        case 'unreachable': return 'is unreachable'
        case 'timeout': return 'did not answer in time'
        case 'reset': case 'closed': return 'closed the connection'
        case 'no-alpn': return 'accepted direct TLS without ALPN "postgresql"'
        default: return `failed (${error.code})`
      }
  }
}

/**
 * Sends a CancelRequest for `processID`/`secretKey` to the server `plan` names, inside a TLS session verified
 * against that server's name (PostgreSQL takes a CancelRequest after SSL negotiation, as libpq 17 sends it).
 * Nothing comes back; whatever happens, the socket is closed within `limitMs`. Errors have nobody to go to.
 */
export function sendCancel(plan: HostPlan, processID: unknown, secretKey: unknown, limitMs: number): void {
  if (typeof processID !== 'number' || typeof secretKey !== 'number') return
  let sockets: Array<{ destroy(): void }> = []
  const opening = openSecureSocket({
    host: plan.target.host, connectHost: plan.target.connectHost, port: plan.target.port,
    negotiation: plan.negotiation, fallback: plan.fallback, ssl: plan.ssl,
    onSocket: (raw) => { sockets = [raw] }, onTcp: () => undefined, onDirectRefused: () => undefined,
  })
  const timer = setTimeout(() => {
    opening.abort(new Error('timeout expired'))
    for (const s of sockets) s.destroy()
  }, limitMs)
  timer.unref()
  opening.done.then(({ tls, raw }) => {
    sockets = [tls, raw]
    tls.on('error', () => undefined)
    raw.on('error', () => undefined)
    tls.once('close', () => clearTimeout(timer))
    const request = Buffer.alloc(16)
    request.writeInt32BE(16, 0)
    request.writeInt32BE(80877102, 4)
    request.writeInt32BE(processID | 0, 8)
    request.writeInt32BE(secretKey | 0, 12)
    tls.end(request)
  }, () => clearTimeout(timer))
}
