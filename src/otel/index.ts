/**
 * `azure-pg-tls/otel`: the SDK's connect telemetry (node:diagnostics_channel, see docs/observability.md) as
 * OpenTelemetry spans and metrics, following the database semantic conventions: a `connect` span per new
 * connection with a child span per phase, `db.client.connection.create_time`, a counter of refusals by
 * `AzurePgError` code, and the pool metrics of SDK pools. Needs `@opentelemetry/api` (an optional peer
 * dependency); nothing else in the SDK imports this module, so an application that does not is unaffected.
 * @packageDocumentation
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import {
  context, metrics, SpanKind, SpanStatusCode, trace, ValueType,
  type Attributes, type Context, type MeterProvider, type ObservableResult, type Span, type TracerProvider,
} from '@opentelemetry/api'
import {
  CHANNEL_NAMES, poolName, type ConnectEndMessage, type ConnectPhaseMessage, type ConnectStartMessage, type EntraTokenMessage,
  type PoolCreatedMessage, type PoolState, type PoolWaitMessage, type RefusedMessage, type TlsHandshakeDetails, type TrustMessage,
} from '../telemetry/channels.js'

/** Where the adapter sends what it makes; OpenTelemetry's global providers by default. */
export interface AzurePgInstrumentationOptions {
  /** Default: the global tracer provider (`trace.getTracerProvider()`). */
  readonly tracerProvider?: TracerProvider
  /** Default: the global meter provider (`metrics.getMeterProvider()`). */
  readonly meterProvider?: MeterProvider
  /** Pool metrics of SDK pools (default true); instrumentation-pg reports the same names for every pg-pool. */
  readonly poolMetrics?: boolean
  /**
   * `db.client.connection.wait_time` of SDK pools (default false): one histogram measurement per checkout, the
   * only pool metric with a cost on every query (6–8% of a pooled `SELECT 1`'s client CPU under
   * instrumentation-pg, measured by `npm run bench`). The other pool metrics are read only when exported.
   */
  readonly poolWaitTime?: boolean
}

/** A running adapter. */
export interface AzurePgInstrumentation {
  /** Stops listening: no more spans or measurements (pools made meanwhile are not reported later). */
  disable(): void
}

/** The name spans and metrics are reported under (the instrumentation scope). */
export const INSTRUMENTATION_NAME = 'azure-pg-tls'

/** `performance.now()` as milliseconds since the epoch, as OpenTelemetry takes times. */
const epochMs = (t: number): number => performance.timeOrigin + t

/** Boundaries for connect and wait times, in seconds (from 1 ms to 10 s). */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** The span attributes of the semantic conventions' TLS namespace, and the SDK's own about the way in. */
function tlsAttributes(tls: TlsHandshakeDetails): Attributes {
  const attributes: Attributes = {
    'tls.protocol.name': 'tls',
    'tls.resumed': tls.resumed,
    'azure_pg_tls.tls.negotiation': tls.negotiation,
    'azure_pg_tls.tls.fallback': tls.fallback,
  }
  if (tls.protocol !== undefined) attributes['tls.protocol.version'] = tls.protocol.replace(/^TLSv/, '')
  if (tls.cipher !== undefined) attributes['tls.cipher'] = tls.cipher
  if (tls.group !== undefined) attributes['tls.curve'] = tls.group
  if (tls.helloRetryRequest !== undefined) attributes['azure_pg_tls.tls.hello_retry_request'] = tls.helloRetryRequest
  return attributes
}

interface OpenConnect {
  readonly span: Span
  readonly context: Context
  readonly start: ConnectStartMessage
  readonly server: Attributes
}

/**
 * Starts turning the SDK's telemetry into OpenTelemetry spans and metrics. Call it once, at start-up, with the
 * rest of the OpenTelemetry setup and before pools are made (a pool is reported from its creation on).
 */
export function instrumentAzurePg(setup: AzurePgInstrumentationOptions = {}): AzurePgInstrumentation {
  const tracer = (setup.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME)
  const meter = (setup.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME)
  const createTime = meter.createHistogram('db.client.connection.create_time', {
    description: 'The time it took to create a new connection.', unit: 's', valueType: ValueType.DOUBLE, advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  })
  const refusals = meter.createCounter('azure_pg_tls.refusals', {
    description: 'Connections and configurations refused or failed, by AzurePgError code (error.type).', unit: '{refusal}', valueType: ValueType.INT,
  })
  const open = new Map<number, OpenConnect>()

  /** A short span of its own, under whatever is active, for work done outside a connect. */
  const standalone = (name: string, durationMs: number, attributes: Attributes, failed?: string): void => {
    const now = epochMs(performance.now())
    const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: now - durationMs, attributes })
    if (failed !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failed })
    span.end(now)
  }

  const handlers: Record<string, (message: unknown) => void> = {
    [CHANNEL_NAMES.connectStart]: (message) => {
      const m = message as ConnectStartMessage
      const server: Attributes = {
        'db.system.name': 'postgresql', 'server.address': m.host, 'server.port': m.port,
        'db.client.connection.pool.name': poolName(m.host, m.port, m.database),
      }
      const attributes: Attributes = {
        ...server, 'db.system': 'postgresql', 'network.peer.address': m.address, 'network.peer.port': m.port,
        'azure_pg_tls.tls.negotiation': m.negotiation,
      }
      if (m.database !== undefined) attributes['db.namespace'] = m.database
      const span = tracer.startSpan('connect', { kind: SpanKind.CLIENT, startTime: epochMs(m.startTime), attributes })
      open.set(m.connectId, { span, context: trace.setSpan(context.active(), span), start: m, server })
    },
    [CHANNEL_NAMES.connectPhase]: (message) => {
      const m = message as ConnectPhaseMessage
      const o = open.get(m.connectId)
      if (o === undefined) return
      const attributes: Attributes = m.tls === undefined ? {} : tlsAttributes(m.tls)
      if (m.authMethod !== undefined) attributes['azure_pg_tls.auth.method'] = m.authMethod
      // The connect span carries the handshake's and the login's facts too, so one span answers "how did it connect".
      o.span.setAttributes(attributes)
      tracer.startSpan(m.phase, { kind: SpanKind.INTERNAL, startTime: epochMs(m.startTime), attributes }, o.context).end(epochMs(m.endTime))
    },
    [CHANNEL_NAMES.connectEnd]: (message) => {
      const m = message as ConnectEndMessage
      const o = open.get(m.connectId)
      if (o === undefined) return
      open.delete(m.connectId)
      if (m.error === undefined) {
        createTime.record((m.endTime - o.start.startTime) / 1000, o.server)
      } else {
        o.span.setAttribute('error.type', m.error.code)
        if (m.error.phase !== undefined) o.span.setAttribute('azure_pg_tls.phase', m.error.phase)
        if (m.error.reason !== undefined) o.span.setAttribute('azure_pg_tls.reason', m.error.reason)
        o.span.setStatus({ code: SpanStatusCode.ERROR, message: m.error.code })
      }
      o.span.end(epochMs(m.endTime))
    },
    [CHANNEL_NAMES.refused]: (message) => {
      const m = message as RefusedMessage
      const attributes: Attributes = { 'error.type': m.code, 'azure_pg_tls.during': m.during }
      if (m.phase !== undefined) attributes['azure_pg_tls.phase'] = m.phase
      refusals.add(1, attributes)
    },
    [CHANNEL_NAMES.trust]: (message) => {
      const m = message as TrustMessage
      const attributes: Attributes = { 'azure_pg_tls.trust.source': m.source, 'azure_pg_tls.trust.tier': m.tier, 'azure_pg_tls.trust.roots': m.roots }
      const o = m.connectId === undefined ? undefined : open.get(m.connectId)
      if (o !== undefined) o.span.addEvent('trust', { ...attributes, 'azure_pg_tls.duration_ms': m.durationMs })
      else standalone('trust', m.durationMs, attributes)
    },
    [CHANNEL_NAMES.entraToken]: (message) => {
      const m = message as EntraTokenMessage
      const attributes: Attributes = { 'azure_pg_tls.entra.cached': m.cached, 'azure_pg_tls.entra.scope': m.scope }
      if (m.code !== undefined) attributes['error.type'] = m.code
      const o = m.connectId === undefined ? undefined : open.get(m.connectId)
      if (o !== undefined) o.span.addEvent('entra-token', { ...attributes, 'azure_pg_tls.duration_ms': m.durationMs })
      else standalone('entra-token', m.durationMs, attributes, m.code)
    },
  }

  const stops: Array<() => void> = []
  if (setup.poolMetrics !== false) stops.push(poolMetrics(meter, handlers, setup.poolWaitTime === true))
  for (const [name, f] of Object.entries(handlers)) subscribe(name, f)
  return {
    disable() {
      for (const [name, f] of Object.entries(handlers)) unsubscribe(name, f)
      for (const stop of stops) stop()
      for (const o of open.values()) o.span.end()
      open.clear()
    },
  }
}

/**
 * The semantic conventions' pool metrics for SDK pools: connection counts by state and pending requests, read
 * from pg-pool when metrics are collected (nothing per checkout), and with `waitTime` each checkout's wait.
 * Adds its handlers to `handlers`; returns what stops the observations.
 */
function poolMetrics(meter: ReturnType<MeterProvider['getMeter']>, handlers: Record<string, (message: unknown) => void>, waitTime: boolean): () => void {
  // Each pool's name and its attributes, made once: a wait is recorded on every checkout.
  const names = new Map<PoolState, { readonly name: string; readonly attributes: Attributes }>()
  const count = meter.createObservableUpDownCounter('db.client.connection.count', {
    description: 'The number of connections that are currently in state described by the state attribute.', unit: '{connection}', valueType: ValueType.INT,
  })
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
    description: 'The number of current pending requests for an open connection.', unit: '{request}', valueType: ValueType.INT,
  })
  const max = meter.createObservableUpDownCounter('db.client.connection.max', {
    description: 'The maximum number of open connections allowed.', unit: '{connection}', valueType: ValueType.INT,
  })
  // An ended pool is observed once more by each of the three callbacks, at 0 (an exporter keeps the last value
  // of a series no longer observed), then forgotten.
  const farewells = new Map<PoolState, number>()
  const pools = (): Array<readonly [PoolState, string, boolean]> => [...names].map(([pool, { name }]) => [pool, name, pool.ending] as const)
  const observed = (pool: PoolState): void => {
    if (!pool.ending) return
    const left = (farewells.get(pool) ?? 3) - 1
    if (left > 0) farewells.set(pool, left)
    else {
      farewells.delete(pool)
      names.delete(pool)
    }
  }
  const observeCount = (r: ObservableResult): void => {
    for (const [pool, name, ended] of pools()) {
      r.observe(ended ? 0 : pool.idleCount, { 'db.client.connection.pool.name': name, 'db.client.connection.state': 'idle' })
      r.observe(ended ? 0 : pool.totalCount - pool.idleCount, { 'db.client.connection.pool.name': name, 'db.client.connection.state': 'used' })
      observed(pool)
    }
  }
  const observePending = (r: ObservableResult): void => {
    for (const [pool, name, ended] of pools()) {
      r.observe(ended ? 0 : pool.waitingCount, { 'db.client.connection.pool.name': name })
      observed(pool)
    }
  }
  const observeMax = (r: ObservableResult): void => {
    for (const [pool, name, ended] of pools()) {
      r.observe(ended ? 0 : pool.options.max ?? 10, { 'db.client.connection.pool.name': name })
      observed(pool)
    }
  }
  count.addCallback(observeCount)
  pending.addCallback(observePending)
  max.addCallback(observeMax)
  handlers[CHANNEL_NAMES.poolCreated] = (message) => {
    const m = message as PoolCreatedMessage
    names.set(m.pool, { name: m.name, attributes: { 'db.client.connection.pool.name': m.name } })
  }
  if (waitTime) {
    // Subscribing is what makes SDK pools time their checkouts: without it a checkout does nothing extra.
    const histogram = meter.createHistogram('db.client.connection.wait_time', {
      description: 'The time it took to obtain an open connection from the pool.', unit: 's', valueType: ValueType.DOUBLE, advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    })
    handlers[CHANNEL_NAMES.poolWait] = (message) => {
      const m = message as PoolWaitMessage
      const known = names.get(m.pool)
      if (known !== undefined) histogram.record(m.durationMs / 1000, known.attributes)
    }
  }
  return () => {
    count.removeCallback(observeCount)
    pending.removeCallback(observePending)
    max.removeCallback(observeMax)
    names.clear()
  }
}

export { CHANNEL_NAMES } from '../telemetry/channels.js'
export type {
  ConnectEndMessage, ConnectPhaseMessage, ConnectPhaseName, ConnectStartMessage, EntraTokenMessage, PoolCreatedMessage, PoolState,
  PoolWaitMessage, RefusalDetails, RefusedMessage, TlsHandshakeDetails, TrustMessage, TrustSource,
} from '../telemetry/channels.js'
