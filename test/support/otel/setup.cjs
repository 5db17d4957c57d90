// Preloaded (node --require) before anything loads pg, as an application's tracing setup is: the real
// OpenTelemetry SDK with an in-memory exporter, and instrumentation-pg, whose require hooks patch pg when it
// loads. It also keeps every span that was started and not yet ended, so a probe can tell a span left open.
'use strict'
const api = require('@opentelemetry/api')
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks')
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base')
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics')
const { registerInstrumentations } = require('@opentelemetry/instrumentation')
const { PgInstrumentation } = require('@opentelemetry/instrumentation-pg')

class TestReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

const exporter = new InMemorySpanExporter()
const open = new Set()
const tracking = {
  onStart(span) { open.add(span) },
  onEnd(span) { open.delete(span) },
  async forceFlush() {},
  async shutdown() {},
}
const tracerProvider = new BasicTracerProvider({ spanProcessors: [tracking, new SimpleSpanProcessor(exporter)] })
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
api.trace.setGlobalTracerProvider(tracerProvider)
const reader = new TestReader()
const meterProvider = new MeterProvider({ readers: [reader] })
api.metrics.setGlobalMeterProvider(meterProvider)
registerInstrumentations({ instrumentations: [new PgInstrumentation()], tracerProvider, meterProvider })

globalThis.__otelProbe = { api, exporter, open, reader, tracerProvider, meterProvider }
