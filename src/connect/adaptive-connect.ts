// sslnegotiation 'auto': what a connection does with what was learned about its server. A server that
// reported PostgreSQL 17+ gets direct TLS (no SSLRequest round trip); one that refuses it gets the
// SSLRequest again, on a fresh socket, within the same connect() and invisibly to the caller. The key
// share is ordered by what the server chose before. Every way in is verified TLS.
import { isIP, Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { AzurePgError } from '../errors.js'
import { classifyConnectError } from '../explain.js'
import { DEFAULT_GROUPS, type LearnedFacts } from './learned-facts.js'
import { verifySession } from './tls-guard.js'

/** pg's Connection, as far as this module drives it. */
export interface PgConnection {
  stream: unknown
  ssl: unknown
  sslNegotiation: string
  _connecting?: boolean
  _ending?: boolean
  _keepAlive?: boolean
  _keepAliveInitialDelayMillis?: number
  connect(port: unknown, host: unknown): void
  requestSsl(): void
  attachListeners(stream: unknown): void
  emit(event: string, ...args: unknown[]): boolean
  on(event: string, f: (...args: never[]) => void): unknown
  once(event: string, f: (...args: never[]) => void): unknown
}

/** How one connection goes in, and what it may learn. */
export interface AdaptivePlan {
  readonly negotiation: 'postgres' | 'direct'
  /** `auto` mode: a direct attempt that fails before the handshake completes is retried with the SSLRequest. */
  readonly fallback: boolean
  /** The server's identity for learning: host, address and port. */
  readonly key: string
  /** The host name pg connects to, and the address (hostaddr) its sockets go to instead; the same without hostaddr. */
  readonly host: string
  readonly address: string
  readonly facts: LearnedFacts | undefined
  /** The first key-share group offered; a server that picks another one is remembered. */
  readonly firstGroup: string
  /** Learn the group only when the user did not set the groups. */
  readonly learnGroup: boolean
}

/** Sockets whose handshake completed (and was verified) before pg saw them. */
const alreadySecure = new WeakSet<object>()

/** Marks a socket whose handshake the SDK completed and verified itself before handing it to pg. */
export function markSecure(socket: TLSSocket): void {
  alreadySecure.add(socket)
}

/** Runs `f` once the TLS socket's handshake has completed: now, if it already has. */
export function whenSecure(socket: TLSSocket, f: () => void): void {
  if (alreadySecure.has(socket)) f()
  else socket.once('secureConnect', f)
}

/** Node's names of key-exchange groups, as ecdhCurve spells them. */
export const GROUP_NAMES: Readonly<Record<string, string>> = { X25519: 'X25519', X448: 'X448', prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** The negotiation for a new connection: libpq's fixed modes as given; `auto` direct only for a server known to take it. */
export function chooseNegotiation(mode: 'auto' | 'postgres' | 'direct', facts: LearnedFacts | undefined, key: string): 'postgres' | 'direct' {
  if (mode !== 'auto') return mode
  return facts?.get(key)?.direct === true ? 'direct' : 'postgres'
}

/**
 * The group offered first to a server not seen choosing another: P-256. Every TLS 1.3 server takes it;
 * PostgreSQL up to 17 (Azure's servers among them) offers nothing else by default, so Node's own order
 * (X25519 first) costs those a HelloRetryRequest, one round trip, on every first connection; and an OpenSSL
 * server that prefers X25519 (PostgreSQL 18) still takes a P-256 key share as it comes. A server that
 * answers with another group is remembered, and that group goes first from then on.
 */
export const FIRST_GROUP = 'P-256'

/** The groups to offer: the learned one (else {@link FIRST_GROUP}) first, then Node's default order. */
export function groupsFor(facts: LearnedFacts | undefined, key: string): string {
  const first = facts?.get(key)?.group ?? FIRST_GROUP
  return [first, ...DEFAULT_GROUPS.filter((g) => g !== first)].join(':')
}

/** A verification failure is final: another way in would meet the same certificate. */
export function isVerificationFailure(err: unknown): boolean {
  if (err instanceof AzurePgError) return err.code === 'TLS_VERIFY_FAILED'
  return classifyConnectError(err)?.startsWith('tls-') === true
}

/** What a server's `server_version` teaches: PostgreSQL 17 and later take direct TLS. */
export function learnFromVersion(facts: LearnedFacts, key: string, version: string | undefined): void {
  if (Number.parseInt(version ?? '', 10) >= 17) facts.record(key, { direct: true })
}

/** What a verified handshake teaches: the key-exchange group the server chose, when it is not the one offered first. */
export function learnGroupFrom(facts: LearnedFacts, plan: Pick<AdaptivePlan, 'key' | 'firstGroup'>, socket: TLSSocket): void {
  const info = socket.getEphemeralKeyInfo() as { name?: string } | null
  const chosen = GROUP_NAMES[info?.name ?? '']
  if (chosen !== undefined && chosen !== plan.firstGroup) facts.record(plan.key, { group: chosen })
}

/**
 * Installs the plan on a pg Connection (before its client connects): learning from what the server
 * reports and picks, and, for direct TLS, a handshake of the SDK's own with one fallback.
 */
export function installAdaptiveConnect(con: PgConnection, plan: AdaptivePlan): void {
  const { facts, key } = plan
  if (facts !== undefined) {
    con.on('parameterStatus', (msg: { parameterName?: string; parameterValue?: string }) => {
      if (msg.parameterName === 'server_version') learnFromVersion(facts, key, msg.parameterValue)
    })
    if (plan.learnGroup) {
      con.on('sslconnect', () => {
        const socket = con.stream as TLSSocket
        whenSecure(socket, () => learnGroupFrom(facts, plan, socket))
      })
    }
  }
  const viaSslRequest = con.connect.bind(con)
  con.connect = (port: unknown, named: unknown): void => {
    // pg names the server (its `host`, what tracing reports); the socket goes to hostaddr where one was given.
    const host = named === plan.host ? plan.address : named
    if (con.sslNegotiation !== 'direct') {
      viaSslRequest(port, host)
      return
    }
    connectDirect(con, plan, Number(port), String(host), () => {
      // The server did not take direct TLS: remember, and go in the classic way on a fresh socket.
      facts?.record(key, { direct: false })
      con.sslNegotiation = 'postgres'
      con.stream = new Socket()
      con.once('connect', () => con.requestSsl())
      viaSslRequest(port, host)
    })
  }
}

/**
 * Direct TLS (ALPN "postgresql"): handed to pg only once verified; `fallBack` on a failure before that, where allowed.
 * As with pg's own connect, the raw socket closing ends the connection ('end'), whatever happened before:
 * pg's end() and its queued queries wait for that event. Only a fallback, which gives the connection a
 * new socket, leaves the old one's close unreported.
 */
function connectDirect(con: PgConnection, plan: AdaptivePlan, port: number, host: string, fallBack: () => void): void {
  con._connecting = true
  const raw = new Socket()
  raw.setNoDelay(true)
  // pg's connect time limit destroys con.stream: point it at the socket being tried.
  con.stream = raw
  let settled = false
  let fellBack = false
  // A failure to reach the server at all is not about direct TLS: report it as pg would.
  const unreachable = (err: unknown): void => {
    if (settled) return
    settled = true
    raw.destroy()
    con.emit('error', err)
  }
  const closedEarly = (): void => unreachable(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }))
  raw.once('error', unreachable)
  raw.once('close', closedEarly)
  // Registered after the listeners above, so that pg hears a failure ('error') before the end of the connection.
  raw.once('close', () => { if (!fellBack) con.emit('end') })
  raw.once('connect', () => {
    raw.removeListener('error', unreachable)
    raw.removeListener('close', closedEarly)
    // As pg's own direct path: 'connect' when TCP is up (the client sends nothing for direct TLS).
    con.emit('connect')
    startTls()
  })
  const startTls = (): void => {
    const options = { ...(con.ssl as object), socket: raw, host, ALPNProtocols: ['postgresql'] }
    // As pg does: SNI and the identity check use the host, unless it is an IP address.
    if (isIP(host) === 0) Object.assign(options, { servername: host })
    const socket = tlsConnect(options)
    // pg's time limit destroys the raw socket; that must land in fail(), not in an unhandled 'error'.
    raw.on('error', (err) => fail(err))
    const fail = (err: unknown): void => {
      if (settled) return
      settled = true
      socket.destroy()
      raw.destroy()
      if (con._ending === true) {
        // The client's own end() cut the handshake short: say so, as pg does for its own path.
        con.emit('error', new Error('Connection terminated'))
      } else if (plan.fallback && !isVerificationFailure(err)) {
        fellBack = true
        fallBack()
      } else {
        con.emit('error', err)
      }
    }
    socket.once('error', fail)
    socket.once('close', () => fail(Object.assign(new Error('The server closed the connection during the direct TLS handshake.'), { code: 'ECONNRESET' })))
    socket.once('secureConnect', () => {
      const problem = verifySession(socket, 'direct')
      if (problem !== undefined) {
        fail(problem)
        return
      }
      settled = true
      socket.removeAllListeners('close')
      socket.removeListener('error', fail)
      // What pg's own direct path wires up, now on a verified session.
      const report = (error: NodeJS.ErrnoException): void => {
        if (con._ending === true && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return
        con.emit('error', error)
      }
      raw.on('error', report)
      socket.on('error', report)
      if (con._keepAlive === true) raw.setKeepAlive(true, con._keepAliveInitialDelayMillis)
      con.stream = socket
      alreadySecure.add(socket)
      con.attachListeners(socket)
      con.emit('sslconnect')
    })
  }
  raw.connect(port, host)
}
