// Preloaded (node --import) into the bench's "OpenTelemetry on" child before pg loads: the real OpenTelemetry
// SDK with a batch processor whose exporter only counts (nothing leaves the machine), instrumentation-pg, and
// the azure-pg-tls/otel adapter. What an application under Azure Monitor pays, minus the network export.
import { context, metrics, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { instrumentAzurePg } from '../src/otel/index.js'

class CountingExporter implements SpanExporter {
  exported = 0
  export(spans: ReadableSpan[], done: (result: { code: number }) => void): void {
    this.exported += spans.length
    done({ code: 0 })
  }
  async shutdown(): Promise<void> {}
}

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const exporter = new CountingExporter()
const processor = new BatchSpanProcessor(exporter)
const tracerProvider = new BasicTracerProvider({ spanProcessors: [processor] })
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
trace.setGlobalTracerProvider(tracerProvider)
const meterProvider = new MeterProvider({ readers: [new Reader()] })
metrics.setGlobalMeterProvider(meterProvider)
registerInstrumentations({ instrumentations: [new PgInstrumentation()], tracerProvider, meterProvider })
// BENCH_OTEL_WAIT_TIME=1: with the pool wait-time histogram, the one pool metric measured on every checkout.
instrumentAzurePg({ tracerProvider, meterProvider, poolWaitTime: process.env['BENCH_OTEL_WAIT_TIME'] === '1' })

/** How many spans were exported so far (after a flush). */
;(globalThis as { benchSpans?: () => Promise<number> }).benchSpans = async () => {
  await processor.forceFlush()
  return exporter.exported
}
