// The SDK's own telemetry: messages on node:diagnostics_channel, published only while someone subscribes (each
// publisher checks `hasSubscribers` before it builds a message, so an application that never listens pays one
// property read per event). A leaf: it imports nothing of the SDK, so every layer can publish to it, and a
// subscriber (the azure-pg-tls/otel adapter, or an application's own) needs nothing but these names and shapes.
// Messages never carry a password, a token or a connection string. The shapes are documented in docs/observability.md.
import { AsyncLocalStorage } from 'node:async_hooks'
import { channel, type Channel } from 'node:diagnostics_channel'

/** Every channel name the SDK publishes on. */
export const CHANNEL_NAMES = {
  trust: 'azure-pg-tls:trust',
  entraToken: 'azure-pg-tls:entra-token',
  connectStart: 'azure-pg-tls:connect:start',
  connectPhase: 'azure-pg-tls:connect:phase',
  connectEnd: 'azure-pg-tls:connect:end',
  refused: 'azure-pg-tls:refused',
  poolCreated: 'azure-pg-tls:pool:created',
  poolWait: 'azure-pg-tls:pool:wait',
} as const

/** Where the trusted roots of a configuration came from: the process's memo, the disk cache, the package's copy, a download, or the user. */
export type TrustSource = 'memo' | 'cache' | 'bundled' | 'download' | 'file' | 'system' | 'inline'

/** `azure-pg-tls:trust`: the roots of one configuration were resolved (when a client, pool or config is made). */
export interface TrustMessage {
  readonly source: TrustSource
  /** Microsoft's tier of the setup: `best`, `good`, or `custom` (roots chosen by the user). */
  readonly tier: 'best' | 'good' | 'custom'
  readonly roots: number
  readonly durationMs: number
  /**
   * The connect this happened in, if any. Roots are resolved before a connect starts (by a factory, or by the
   * drop-in Client's connect() before its connect is told), so this is undefined today; kept for subscribers.
   */
  readonly connectId: number | undefined
}

/** `azure-pg-tls:entra-token`: a Microsoft Entra ID token was asked for. Never the token. */
export interface EntraTokenMessage {
  /** Served from the in-memory cache, without asking the credential. */
  readonly cached: boolean
  readonly ok: boolean
  readonly durationMs: number
  readonly scope: string
  /** The AzurePgError code of a failure. */
  readonly code: string | undefined
  readonly connectId: number | undefined
}

/** `azure-pg-tls:connect:start`: a client starts connecting (before any socket). */
export interface ConnectStartMessage {
  /** Identifies this connect in the later messages of it; unique in the process. */
  readonly connectId: number
  /** The host name the user gave (what the certificate is checked against). */
  readonly host: string
  /** Where the socket goes: `hostaddr`, or the host. */
  readonly address: string
  readonly port: number
  readonly database: string | undefined
  /** How TLS is asked for first: the SSLRequest (`postgres`) or `direct` TLS. */
  readonly negotiation: 'postgres' | 'direct'
  /** `performance.now()` at the start. */
  readonly startTime: number
}

/** The phases of one connect, in order. */
export type ConnectPhaseName = 'tcp' | 'tls-request' | 'tls-handshake' | 'authentication'

/** What the TLS handshake phase reports. */
export interface TlsHandshakeDetails {
  /** The negotiation this handshake went in with (after a fallback: `postgres`). */
  readonly negotiation: 'postgres' | 'direct'
  /** A direct TLS attempt failed before its handshake and the SSLRequest was used instead, in the same connect. */
  readonly fallback: boolean
  /** `TLSv1.3`, `TLSv1.2`. */
  readonly protocol: string | undefined
  readonly cipher: string | undefined
  /** The key-exchange group the server chose (`X25519`, `P-256`, ...). */
  readonly group: string | undefined
  /** TLS 1.3 and the server chose a group other than the one whose key share was sent first: it asked again. */
  readonly helloRetryRequest: boolean | undefined
  readonly resumed: boolean
}

/** `azure-pg-tls:connect:phase`: one phase of a connect is over. */
export interface ConnectPhaseMessage {
  readonly connectId: number
  readonly phase: ConnectPhaseName
  /** `performance.now()` when the phase started and ended. */
  readonly startTime: number
  readonly endTime: number
  /** `tls-handshake` only. */
  readonly tls: TlsHandshakeDetails | undefined
  /** `authentication` only: `SCRAM-SHA-256`, `SCRAM-SHA-256-PLUS`, `md5`, `password` (cleartext, as Entra tokens go), or `trust`. */
  readonly authMethod: string | undefined
}

/** An AzurePgError, as far as telemetry tells it: never its message's details beyond the code, phase and reason. */
export interface RefusalDetails {
  readonly code: string
  readonly phase: string | undefined
  readonly reason: string | undefined
}

/** `azure-pg-tls:connect:end`: a connect is over, connected or failed. */
export interface ConnectEndMessage {
  readonly connectId: number
  readonly endTime: number
  readonly error: RefusalDetails | undefined
}

/** `azure-pg-tls:refused`: the SDK refused or failed with an AzurePgError: at configuration, at connect, or a pool checkout. */
export interface RefusedMessage extends RefusalDetails {
  readonly during: 'configure' | 'connect' | 'checkout'
  readonly connectId: number | undefined
}

/** What a pool tells of its state: pg-pool's own counters. */
export interface PoolState {
  readonly totalCount: number
  readonly idleCount: number
  readonly waitingCount: number
  readonly ending: boolean
  readonly options: { readonly max?: number | undefined }
}

/** `azure-pg-tls:pool:created`: an SDK pool (createAzurePgPool, the drop-in Pool) was made. */
export interface PoolCreatedMessage {
  readonly pool: PoolState
  /** `host:port/database`, as instrumentation-pg names pools. */
  readonly name: string
  readonly host: string | undefined
  readonly port: number | undefined
  readonly database: string | undefined
}

/** `azure-pg-tls:pool:wait`: a checkout got its client, or failed, after waiting this long. */
export interface PoolWaitMessage {
  readonly pool: PoolState
  readonly durationMs: number
  readonly ok: boolean
}

/** The channels, by what they carry. */
export const channels: {
  readonly trust: Channel
  readonly entraToken: Channel
  readonly connectStart: Channel
  readonly connectPhase: Channel
  readonly connectEnd: Channel
  readonly refused: Channel
  readonly poolCreated: Channel
  readonly poolWait: Channel
} = {
  trust: channel(CHANNEL_NAMES.trust),
  entraToken: channel(CHANNEL_NAMES.entraToken),
  connectStart: channel(CHANNEL_NAMES.connectStart),
  connectPhase: channel(CHANNEL_NAMES.connectPhase),
  connectEnd: channel(CHANNEL_NAMES.connectEnd),
  refused: channel(CHANNEL_NAMES.refused),
  poolCreated: channel(CHANNEL_NAMES.poolCreated),
  poolWait: channel(CHANNEL_NAMES.poolWait),
}

/**
 * What every copy of this module in the process shares (the ES module and CommonJS builds can both be loaded,
 * and channels are global by name): connect ids must not repeat across them.
 */
interface Shared {
  lastConnectId: number
  readonly scope: AsyncLocalStorage<number>
  /** Connects running in the scope now (absent where an older copy of this module made the object). */
  inScope?: number
}
const SHARED = Symbol.for('azure-pg-tls.telemetry')
const shared: Shared = ((globalThis as { [SHARED]?: Shared })[SHARED] ??= { lastConnectId: 0, scope: new AsyncLocalStorage<number>() })

/**
 * The connect a piece of work runs in, so that what it causes (a token asked for during the login) names it.
 * Entered only while someone listens to the connect channels, and only through {@link inConnectScope}.
 */
export const connectScope: AsyncLocalStorage<number> = shared.scope

/**
 * Runs one connect's work in its scope. The scope is switched off again as soon as no connect is in it: on
 * Node 20 and 22 an enabled AsyncLocalStorage copies its store onto every async resource the process makes
 * (under an OpenTelemetry context manager, every promise), a cost every query of the application would pay
 * for as long as it ran, for the sake of a few connects. (Node 24's, built on AsyncContextFrame, copies
 * nothing; switching it off costs nothing there either.)
 */
export async function inConnectScope<T>(connectId: number, f: () => Promise<T>): Promise<T> {
  shared.inScope = (shared.inScope ?? 0) + 1
  try {
    return await shared.scope.run(connectId, f)
  } finally {
    shared.inScope -= 1
    if (shared.inScope === 0) shared.scope.disable()
  }
}

/** How many connects are in the scope now (across the module's copies): for tests. */
export function connectsInScope(): number {
  return shared.inScope ?? 0
}

/** A new connect id, unique in the process. */
export function nextConnectId(): number {
  shared.lastConnectId += 1
  return shared.lastConnectId
}

/** The name instrumentation-pg gives a pool, and the semantic conventions' `db.client.connection.pool.name`. */
export function poolName(host: string | undefined, port: number | undefined, database: string | undefined): string {
  return `${host ?? 'unknown_host'}:${port ?? 'unknown_port'}/${database ?? 'unknown_database'}`
}
