// Enforces the authentication policy (channel_binding, require_auth) where pg handles the server's
// authentication requests, before pg answers them: a refused request gets no password, no token (the
// password function is never called), no SCRAM proof, and the connection is closed with
// AUTH_METHOD_REFUSED. What each login used is kept per client for the doctor.
// First: loads pg without its Cloudflare probe (see load-pg.ts).
import './load-pg.js'
import pg from 'pg'
import { judgeOutcome, judgeRequest, refusalInWords, SCRAM_PLUS, type AuthMethod, type AuthPolicy, type AuthRequest, type Refusal } from '../config/auth-policy.js'
import { AzurePgError, invalidConfig, PHASE_WORDS } from '../errors.js'
import { where, type ConnectContext } from '../explain.js'

/** pg.Client's handlers of the server's authentication requests: the methods the guard wraps. */
interface PgAuthHandlers {
  _handleAuthCleartextPassword(msg: unknown): void
  _handleAuthMD5Password(msg: unknown): void
  _handleAuthSASL(msg: unknown): void
  _handleAuthSASLContinue(msg: unknown): unknown
  _handleAuthSASLFinal(msg: unknown): void
}

/** What the guard reads of a pg client. */
interface GuardedClient {
  saslSession?: { mechanism?: unknown } | null
}

/** What the guard needs of pg's Connection. */
export interface GuardedConnection {
  stream?: unknown
  emit(event: string, ...args: unknown[]): boolean
  on(event: string, f: () => void): unknown
  once(event: string, f: () => void): unknown
  prependOnceListener(event: string, f: () => void): unknown
  removeListener(event: string, f: () => void): unknown
  attachListeners(stream: unknown): void
  password(...args: unknown[]): void
  sendSASLInitialResponseMessage(...args: unknown[]): void
  sendSCRAMClientFinalMessage(...args: unknown[]): void
}

/** pg's Connection methods that answer an authentication request (pg calls them later, when a password function or SCRAM's hashing is done). */
const ANSWERS = ['password', 'sendSASLInitialResponseMessage', 'sendSCRAMClientFinalMessage'] as const

/** A stream as far as the guard rewires its 'data' listener. */
interface DataSource {
  listeners(event: 'data'): Array<(...args: unknown[]) => void>
  removeListener(event: 'data', f: (...args: unknown[]) => void): unknown
  on(event: 'data', f: (...args: unknown[]) => void): unknown
  destroy?: () => void
}

/**
 * Authentication requests pg-protocol cannot parse: it throws from inside the socket's 'data' event,
 * which would end the process with an uncaught exception. None is a method node-postgres can answer.
 */
const UNPARSED_REQUESTS: Readonly<Record<string, string>> = { 2: 'Kerberos V5', 6: 'SCM credential', 7: 'GSSAPI', 8: 'GSSAPI', 9: 'SSPI' }

/** What one login looked like, as far as it went. */
export interface AuthObservation {
  /** What the server asked for; `none` when it let the client in unasked; undefined before it said anything. */
  readonly asked: AuthMethod | undefined
  /** The SASL mechanisms the server offered (empty unless it asked for SASL). */
  readonly mechanisms: readonly string[]
  /** The SASL mechanism pg chose, when it got that far. */
  readonly mechanism: string | undefined
  /** The client finished its side of the exchange (sent the password, or verified the server's SCRAM signature). */
  readonly completed: boolean
  /** A SCRAM-SHA-256-PLUS exchange completed: the login is bound to this TLS session. */
  readonly channelBound: boolean
  /** The refusal, when the policy refused the server's request. */
  readonly refused: Refusal | undefined
}

interface GuardState {
  readonly policy: AuthPolicy
  /** The server being logged in to (the host loop tries several). */
  context: ConnectContext
  readonly connection: GuardedConnection
  asked: AuthMethod | undefined
  mechanisms: readonly string[]
  mechanism: string | undefined
  completed: boolean
  channelBound: boolean
  refused: Refusal | undefined
  /** The connection was ended by the guard: nothing more is answered. */
  closed: boolean
  /** The server sent its first ReadyForQuery: the session is open. */
  ready: boolean
  /** Gives the stream being logged in through its own 'data' listener back at the first ReadyForQuery. */
  unguard: (() => void) | undefined
  /** The stream whose server's last admitted request is being answered: the only one an answer may go to. */
  askedOn: unknown
  /** Which login of the client this is (the host loop starts one per server): a password fetched for an earlier one is not sent. */
  login: number
}

const states = new WeakMap<object, GuardState>()
const pgAuth = pg.Client.prototype as unknown as PgAuthHandlers

/** What the guard has seen of one login: nothing yet. */
function freshLogin(): Pick<GuardState, 'asked' | 'mechanisms' | 'mechanism' | 'completed' | 'channelBound' | 'refused' | 'ready' | 'askedOn'> {
  return { asked: undefined, mechanisms: [], mechanism: undefined, completed: false, channelBound: false, refused: undefined, ready: false, askedOn: undefined }
}

/**
 * Gives a client its policy, watches its connection's AuthenticationOk (pg has no handler of its own for
 * it) for a server that lets the client in without the exchange the policy asks for, and catches the
 * requests pg cannot parse.
 */
export function installAuthGuard(client: object, connection: GuardedConnection, policy: AuthPolicy, context: ConnectContext): void {
  const state: GuardState = { policy, context, connection, closed: false, unguard: undefined, login: 0, ...freshLogin() }
  states.set(client, state)
  guardParser(state)
  // pg answers a request when the password function (an Entra token, say) or SCRAM's hashing is done, into
  // whatever stream the Connection holds then. The host loop may have moved on by then, to the next server's
  // socket, before its TLS: the answer goes only to the stream whose server asked, and is dropped otherwise.
  for (const name of ANSWERS) {
    const answer = connection[name].bind(connection)
    connection[name] = (...args: unknown[]): void => {
      if (state.closed || state.askedOn === undefined || connection.stream !== state.askedOn) return
      answer(...args)
    }
  }
  connection.on('authenticationOk', () => {
    state.asked ??= 'none'
    if (state.closed) return
    const asked = state.asked === 'none' ? undefined : state.asked
    const refusal = judgeOutcome(policy, { asked, completed: state.completed, channelBound: state.channelBound })
    if (refusal !== undefined) refuse(state, refusal)
  })
}

/**
 * A new attempt of the host loop (host-loop.ts) on the same client: what the guard saw of the last server is
 * forgotten, and its refusals name the server now tried. A connection the guard closed is not reopened: a
 * refusal ends the connect.
 */
export function restartAuthGuard(client: object, context: ConnectContext): void {
  const s = states.get(client)
  if (s === undefined || s.closed) return
  // In place: the guard's listeners hold this state object.
  Object.assign(s, { context }, freshLogin())
  s.login += 1
}

/** What a connection the guard closed still passes on to pg: the failure, and the end of the socket. */
const AFTER_CLOSE = new Set(['error', 'end'])

/**
 * Closes the connection for the guard: from now on, pg hears nothing more from the server. pg-protocol goes on
 * parsing the rest of the data it already holds, and a hostile server puts ReadyForQuery and a result
 * right behind the request it knows will be refused: pg would take the session as ready, answer a query
 * queued before connect() settled with forged rows, and emit an unexpected message as an 'error' nobody
 * listens for (the process ends).
 */
function close(state: GuardState): void {
  state.closed = true
  // Installed only now: an open connection's messages (several per query) go to pg with nothing in between.
  const connection = state.connection
  const emit = connection.emit.bind(connection)
  connection.emit = (event: string, ...args: unknown[]): boolean => (AFTER_CLOSE.has(event) ? emit(event, ...args) : false)
}

/**
 * Makes an authentication request pg cannot parse (GSSAPI, SSPI, Kerberos: a hostile server may send one) a
 * failure of this connection instead of an uncaught exception: pg-protocol throws from the stream's 'data'
 * listener. Every stream pg reads from (after the SSLRequest, or direct TLS) goes through attachListeners.
 * The guard lasts until the stream's first ReadyForQuery: after it, pg's own listener gets the stream back,
 * and each query's data reaches pg with nothing in between, as with plain pg.
 */
function guardParser(state: GuardState): void {
  const connection = state.connection
  const attach = connection.attachListeners.bind(connection)
  connection.attachListeners = (stream: unknown): void => {
    const source = stream as DataSource
    const before = new Set(source.listeners('data'))
    attach(stream)
    const swaps: Array<readonly [pgListener: (...args: unknown[]) => void, guarded: (...args: unknown[]) => void]> = []
    for (const listener of source.listeners('data')) {
      if (before.has(listener)) continue
      source.removeListener('data', listener)
      // One chunk per call, and no array made for it. Added with on(), which keeps pg's listener where it
      // was (after the ones before it): a readable stream's on('data') also marks it as having a data
      // listener, without which every chunk the socket receives waits a tick in its buffer
      // (prependListener leaves that mark unset).
      const guarded = function guarded(this: unknown, chunk: unknown): void {
        try {
          listener.call(this, chunk)
        } catch (err) {
          unparsable(state, source, err)
        }
      }
      source.on('data', guarded)
      swaps.push([listener, guarded])
    }
    // A stream before this one (a server the host loop moved past) never got to ReadyForQuery, or did and
    // was left: its swap-back is dropped, and this stream's login is the one the next ReadyForQuery ends.
    if (state.unguard !== undefined) connection.removeListener('readyForQuery', state.unguard)
    const unguard = (): void => {
      state.unguard = undefined
      state.ready = true
      // pg's listener is added before the guard's is removed, so the stream never has no 'data' listener;
      // the chunk being parsed now finishes in the guard (an emit calls the listeners it started with).
      for (const [listener, guarded] of swaps) {
        source.on('data', listener)
        source.removeListener('data', guarded)
      }
    }
    state.unguard = unguard
    // Ahead of pg's own handler, which runs the caller's code ('connect' listeners, queued submittables): what
    // that throws is the caller's, rethrown as with plain pg, not a message from the server.
    connection.prependOnceListener('readyForQuery', unguard)
  }
}

/**
 * Ends a connection whose server asked for an authentication method pg cannot parse, with
 * AUTH_METHOD_REFUSED. Anything else thrown from the 'data' listener (a caller's own callback that
 * throws, called by pg while it reads) goes on as before.
 */
function unparsable(state: GuardState, source: DataSource, err: unknown): void {
  // Before the first ReadyForQuery pg calls no code of the caller's from its parser: whatever throws there
  // is the parser meeting a message it cannot read. After it, a caller's callback may throw: that goes on.
  if (state.ready) throw err
  // The rest of a chunk from a server the host loop has left: that server is gone already, and the login now
  // under way (another server's) is not this one's to end.
  if (state.closed || source !== state.connection.stream) return
  close(state)
  const code = /^Unknown authenticationOk message type (-?\d+)$/.exec(err instanceof Error ? err.message : '')?.[1]
  const failure = code !== undefined
    ? new AzurePgError('AUTH_METHOD_REFUSED', `The server at ${where(state.context)} asked for ${UNPARSED_REQUESTS[code] ?? 'an unknown'} authentication (request ${code}), which node-postgres cannot answer. Nothing was sent in answer, and the connection is closed. It failed ${PHASE_WORDS.authentication}.`, {
      hint: 'Azure Database for PostgreSQL asks for a password, SCRAM or an Entra ID token, never this: check that host and hostaddr point at the Azure server.', phase: 'authentication',
    })
    : new AzurePgError('CONNECTION_FAILED', `The server at ${where(state.context)} sent a message node-postgres cannot read, before the connection was ready; the connection is closed.`, {
      hint: 'Check that host and hostaddr point at the Azure server (PostgreSQL speaks this protocol without such messages).', reason: 'other', cause: err,
    })
  state.connection.emit('error', failure)
  source.destroy?.()
}

/** What the client's last login looked like; undefined for a client without the guard. */
export function authObservation(client: object): AuthObservation | undefined {
  const s = states.get(client)
  if (s === undefined) return undefined
  return { asked: s.asked, mechanisms: s.mechanisms, mechanism: s.mechanism, completed: s.completed, channelBound: s.channelBound, refused: s.refused }
}

/** Records a request and judges it; false (and the connection closed) when it is refused. */
function admit(client: object, request: AuthRequest): boolean {
  const state = states.get(client)
  // A client without a policy cannot get here: AzurePgClient refuses to connect before it has one.
  if (state === undefined) return true
  if (state.closed) return false
  if (request.kind === 'sasl') state.mechanisms = [...request.mechanisms]
  state.asked ??= request.kind === 'password' ? 'password' : request.kind === 'md5' ? 'md5' : 'scram-sha-256'
  const refusal = judgeRequest(state.policy, request)
  if (refusal !== undefined) {
    refuse(state, refusal)
    return false
  }
  state.askedOn = state.connection.stream
  // libpq's client_finished_auth: once a password is sent, the client has done its part.
  if (request.kind === 'password' || request.kind === 'md5') state.completed = true
  return true
}

/** The one line of advice for a refusal. */
function hintFor(refusal: Refusal, ctx: ConnectContext): string {
  if (refusal.scramWithoutBinding === true) {
    return `The server offers SCRAM but not SCRAM-SHA-256-PLUS, as PgBouncer does (Azure's built-in PgBouncer${ctx.port === 6432 ? ', on this port 6432,' : ' on port 6432'} and PgBouncer 1.18 cannot bind a login to TLS): connect to PostgreSQL itself (port 5432), or use channel_binding=prefer through PgBouncer.`
  }
  if (refusal.asked === 'none') {
    return refusal.setting === 'require_auth'
      ? 'An Azure server always asks for a password or token: one that lets a client in unasked is not it (check host and hostaddr). For a local trust server, add none to require_auth.'
      : 'An Azure server always asks for a password or token: one that lets a client in unasked is not it (check host and hostaddr); channel_binding=require needs a SCRAM login.'
  }
  if (refusal.setting === 'channel_binding') {
    return 'Channel binding needs a SCRAM login: connect to PostgreSQL itself (on Azure, port 5432) as a role whose password is stored as SCRAM (password_encryption=scram-sha-256, then reset the password), or use channel_binding=prefer. Entra ID tokens are never SCRAM.'
  }
  return 'The server chooses the method (pg_hba.conf; on Azure, how the role\'s password is stored: password_encryption=scram-sha-256, then reset it). Widen require_auth only if every server holding a certificate for this name may be answered that way.'
}

/**
 * Closes the connection with AUTH_METHOD_REFUSED, before anything is sent in answer. The phase is said
 * here: when the refusal comes at AuthenticationOk, pg reads the rest of the server's packet (up to
 * ReadyForQuery) before the error is explained.
 */
function refuse(state: GuardState, refusal: Refusal): void {
  state.refused = refusal
  close(state)
  const sent = refusal.asked === 'none' ? 'The connection is closed.' : 'Nothing was sent in answer, and the connection is closed.'
  const message = `The server at ${where(state.context)} ${refusalInWords(state.policy, refusal)}. ${sent} It failed ${PHASE_WORDS.authentication}.`
  state.connection.emit('error', new AzurePgError('AUTH_METHOD_REFUSED', message, { hint: hintFor(refusal, state.context), phase: 'authentication' }))
  ;(state.connection.stream as { destroy?: () => void } | undefined)?.destroy?.()
}

/**
 * Wraps pg's handlers of the server's authentication requests on `prototype` (AzurePgClient's, once):
 * each request is judged before pg answers it, so pg's code (and the password function) runs only for
 * an admitted request. Clients of plain pg are not touched.
 */
export function guardAuthRequests(prototype: object): void {
  const hook = (name: keyof PgAuthHandlers, value: (this: GuardedClient, msg: unknown) => unknown): void => {
    Object.defineProperty(prototype, name, { value, writable: true, configurable: true, enumerable: false })
  }
  // pg gets the password (calls a password function: an Entra token may take seconds) and then answers, in a
  // callback: a callback for a login the host loop has since left (that server ran out of its time) answers
  // nothing, even when the next server has asked in the meantime. pg 8.23 names the step _getPassword,
  // pg 8.11 _checkPgPass.
  for (const name of ['_getPassword', '_checkPgPass'] as const) {
    const original = (pgAuth as unknown as Record<string, unknown>)[name]
    if (typeof original !== 'function') continue
    Object.defineProperty(prototype, name, {
      value: function passwordThen(this: object, then: () => unknown): unknown {
        const state = states.get(this)
        const login = state?.login
        return original.call(this, () => (state === undefined || state.login === login ? then() : undefined))
      },
      writable: true, configurable: true, enumerable: false,
    })
  }
  hook('_handleAuthCleartextPassword', function (msg) {
    if (admit(this, { kind: 'password' })) pgAuth._handleAuthCleartextPassword.call(this, msg)
  })
  hook('_handleAuthMD5Password', function (msg) {
    if (admit(this, { kind: 'md5' })) pgAuth._handleAuthMD5Password.call(this, msg)
  })
  hook('_handleAuthSASL', function (msg) {
    const offered = (msg as { mechanisms?: unknown }).mechanisms
    const mechanisms = Array.isArray(offered) ? offered.filter((m): m is string => typeof m === 'string') : []
    if (admit(this, { kind: 'sasl', mechanisms })) pgAuth._handleAuthSASL.call(this, msg)
  })
  // The proof goes out in answer to this one: checked again, against the mechanism pg actually chose.
  hook('_handleAuthSASLContinue', function (msg) {
    const mechanism = typeof this.saslSession?.mechanism === 'string' ? this.saslSession.mechanism : undefined
    const state = states.get(this)
    if (state !== undefined) state.mechanism = mechanism
    if (!admit(this, { kind: 'sasl-continue', mechanism })) return undefined
    return pgAuth._handleAuthSASLContinue.call(this, msg)
  })
  hook('_handleAuthSASLFinal', function (msg) {
    const mechanism = typeof this.saslSession?.mechanism === 'string' ? this.saslSession.mechanism : undefined
    pgAuth._handleAuthSASLFinal.call(this, msg)
    // pg clears the session only when the server's signature checked out.
    const state = states.get(this)
    if (state !== undefined && this.saslSession === null) {
      state.completed = true
      state.channelBound = mechanism === SCRAM_PLUS
    }
  })
}

/**
 * Refuses (`INVALID_CONFIG`) a policy that only the SDK's client can enforce, for configurations handed
 * to plain pg (`resolveAzurePgConfig`): pg answers whatever the server asks for.
 */
export function assertPlainPgCanEnforce(policy: AuthPolicy): void {
  const what = policy.requireAuth !== undefined ? `require_auth (from ${policy.requireAuthOrigin ?? 'the configuration'})`
    : policy.channelBinding === 'require' ? `channel_binding=require (from ${policy.channelBindingOrigin ?? 'the configuration'})` : undefined
  if (what === undefined) return
  throw invalidConfig(`${what} is enforced by the SDK's client, and a plain pg configuration would answer whatever the server asks for.`,
    'Use createAzurePgPool, createAzurePgClient or azure-pg-tls/pg\'s Pool and Client (Drizzle, Kysely, Prisma and the ORMs take them), or remove the setting.')
}
