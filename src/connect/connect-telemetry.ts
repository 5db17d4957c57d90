// What one connect tells the telemetry channels (src/telemetry/): its start, each phase as it ends (with the
// TLS handshake's protocol, cipher and group, and the login method), and its end. Nothing is listened to, timed
// or allocated unless a channel has a subscriber when the connect starts.
import type { TLSSocket } from 'node:tls'
import { AzurePgError } from '../errors.js'
import {
  channels, inConnectScope, nextConnectId, type ConnectEndMessage, type ConnectPhaseMessage, type ConnectPhaseName,
  type ConnectStartMessage, type RefusalDetails, type RefusedMessage, type TlsHandshakeDetails,
} from '../telemetry/channels.js'
import { GROUP_NAMES, whenSecure, type AdaptivePlan } from './adaptive-connect.js'

/** pg's Connection, as far as telemetry reads it. */
interface TracedConnection {
  readonly stream?: unknown
  readonly sslNegotiation?: unknown
  on(event: string, f: (...args: unknown[]) => void): unknown
  removeListener(event: string, f: (...args: unknown[]) => void): unknown
}

/** One connect being told. */
export interface ConnectTrace {
  readonly connectId: number
  /** Runs the connect, so that what it causes (an Entra token asked for at login) names this connect. */
  run<T>(f: () => Promise<T>): Promise<T>
  /** The connect is over: `err` is the AzurePgError it failed with, or undefined. */
  end(err: unknown): void
}

/** What an AzurePgError is to telemetry: code, phase, reason; never its message. */
export function refusalOf(err: unknown): RefusalDetails | undefined {
  if (!(err instanceof AzurePgError)) return undefined
  return { code: err.code, phase: err.phase, reason: err.reason }
}

/** Tells `azure-pg-tls:refused` of an AzurePgError, if anyone listens. */
export function tellRefusal(err: unknown, during: RefusedMessage['during'], connectId?: number): void {
  if (!channels.refused.hasSubscribers) return
  const refusal = refusalOf(err)
  if (refusal !== undefined) channels.refused.publish({ ...refusal, during, connectId } satisfies RefusedMessage)
}

/** What the server's authentication request says the login is. */
function methodOf(event: string, msg: unknown, channelBinding: boolean): string {
  if (event === 'authenticationMD5Password') return 'md5'
  if (event === 'authenticationCleartextPassword') return 'password'
  const mechanisms = (msg as { mechanisms?: unknown }).mechanisms
  // pg takes the -PLUS mechanism when it is offered and channel binding is on.
  return Array.isArray(mechanisms) && mechanisms.includes('SCRAM-SHA-256-PLUS') && channelBinding ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256'
}

/** The handshake's facts, read from the finished TLS socket. */
function handshakeOf(socket: TLSSocket, negotiation: 'postgres' | 'direct', fallback: boolean, firstGroup: string): TlsHandshakeDetails {
  const protocol = socket.getProtocol() ?? undefined
  const info = socket.getEphemeralKeyInfo() as { name?: string } | null
  const group = info?.name === undefined ? undefined : GROUP_NAMES[info.name] ?? info.name
  return {
    negotiation, fallback, protocol, cipher: socket.getCipher()?.name, group,
    helloRetryRequest: protocol === 'TLSv1.3' && group !== undefined ? group !== firstGroup : undefined,
    resumed: socket.isSessionReused(),
  }
}

/** What a connect is, for its start message. */
export interface ConnectTarget {
  readonly host: string
  readonly port: number
  readonly database: string | undefined
  readonly channelBinding: boolean
}

/**
 * Starts telling one connect, or returns undefined (nothing done at all) when no connect channel has a
 * subscriber. Listens to pg's Connection events until {@link ConnectTrace.end}.
 */
export function traceConnect(con: TracedConnection, plan: AdaptivePlan, target: ConnectTarget): ConnectTrace | undefined {
  if (!channels.connectStart.hasSubscribers && !channels.connectPhase.hasSubscribers && !channels.connectEnd.hasSubscribers) return undefined
  const connectId = nextConnectId()
  const startTime = performance.now()
  if (channels.connectStart.hasSubscribers) {
    channels.connectStart.publish({
      connectId, host: target.host, address: plan.address, port: target.port, database: target.database, negotiation: plan.negotiation, startTime,
    } satisfies ConnectStartMessage)
  }
  let phaseStart = startTime
  let authMethod: string | undefined
  let ended = false
  const phase = (name: ConnectPhaseName, tls?: TlsHandshakeDetails): void => {
    const endTime = performance.now()
    if (!ended && channels.connectPhase.hasSubscribers) {
      channels.connectPhase.publish({ connectId, phase: name, startTime: phaseStart, endTime, tls, authMethod: name === 'authentication' ? authMethod ?? 'trust' : undefined } satisfies ConnectPhaseMessage)
    }
    phaseStart = endTime
  }
  const listeners: Array<readonly [string, (msg: unknown) => void]> = [
    ['connect', () => phase('tcp')],
    ['sslconnect', () => {
      const direct = con.sslNegotiation === 'direct'
      const fallback = plan.negotiation === 'direct' && !direct
      // Direct TLS hands pg its socket once the handshake is over; after an SSLRequest, pg starts it now.
      if (!direct) phase('tls-request')
      const socket = con.stream as TLSSocket
      whenSecure(socket, () => phase('tls-handshake', handshakeOf(socket, direct ? 'direct' : 'postgres', fallback, plan.firstGroup)))
    }],
    ...(['authenticationCleartextPassword', 'authenticationMD5Password', 'authenticationSASL'] as const).map((event) =>
      [event, (msg: unknown) => { authMethod ??= methodOf(event, msg, target.channelBinding) }] as const),
    ['authenticationOk', () => phase('authentication')],
  ]
  for (const [event, f] of listeners) con.on(event, f)
  return {
    connectId,
    run: (f) => inConnectScope(connectId, f),
    end(err) {
      if (ended) return
      ended = true
      for (const [event, f] of listeners) con.removeListener(event, f)
      if (channels.connectEnd.hasSubscribers) channels.connectEnd.publish({ connectId, endTime: performance.now(), error: err === undefined ? undefined : refusalOf(err) ?? { code: 'CONNECTION_FAILED', phase: undefined, reason: undefined } } satisfies ConnectEndMessage)
    },
  }
}
