// OpenTelemetry for azure-pg-tls: instrumentation-pg makes spans of pg's queries and connects, and
// azure-pg-tls/otel adds a `connect` span per new connection with its phases (TCP, SSLRequest, TLS handshake,
// login) and the connection metrics. Spans go to an in-memory exporter and are printed as a tree here; in
// production, use the Azure Monitor distro instead of the provider below:
//
//   import { useAzureMonitor } from '@azure/monitor-opentelemetry'
//   useAzureMonitor()                 // APPLICATIONINSIGHTS_CONNECTION_STRING; instruments pg itself
//   instrumentAzurePg()               // the SDK's connect spans and metrics, to the same global providers
//
//   PGHOST=mydemoserver.postgres.database.azure.com PGUSER=... PGPASSWORD=... node --import tsx examples/otel/tracing.ts
import { trace } from '@opentelemetry/api'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { instrumentAzurePg } from 'azure-pg-tls/otel'

// Tracing is set up before pg is loaded: instrumentation-pg patches pg as it loads. An application does this
// in a file of its own, preloaded with `node --import ./instrumentation.js app.js`; here, pg comes in below
// through a dynamic import, after the setup.
const exporter = new InMemorySpanExporter()
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register()
registerInstrumentations({ instrumentations: [new PgInstrumentation()] })
instrumentAzurePg()

const { createAzurePgPool, AzurePgError } = await import('azure-pg-tls')

/** The finished spans as an indented tree, with each one's duration and the attributes worth a glance. */
function tree(spans: readonly ReadableSpan[]): string {
  const ms = (s: ReadableSpan): string => `${(s.duration[0] * 1e3 + s.duration[1] / 1e6).toFixed(1)} ms`
  const shown = ['server.address', 'tls.protocol.version', 'tls.curve', 'azure_pg_tls.tls.negotiation', 'azure_pg_tls.auth.method']
  const lines: string[] = []
  const walk = (parent: string | undefined, depth: number): void => {
    for (const s of spans.filter((x) => x.parentSpanContext?.spanId === parent).sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1])) {
      const facts = shown.filter((k) => s.attributes[k] !== undefined).map((k) => `${k}=${String(s.attributes[k])}`)
      lines.push(`${'  '.repeat(depth)}${s.name} (${ms(s)})${facts.length > 0 ? `  ${facts.join(' ')}` : ''}`)
      walk(s.spanContext().spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  return lines.join('\n')
}

try {
  const pool = await createAzurePgPool({ max: 2 })
  await trace.getTracer('example').startActiveSpan('request', async (span) => {
    await pool.query('SELECT 1 AS one')
    span.end()
  })
  await pool.end()
  console.log(tree(exporter.getFinishedSpans()))
} catch (err) {
  if (!(err instanceof AzurePgError)) throw err
  console.error(`${err.code}: ${err.message}\nfix: ${err.hint}`)
  process.exitCode = 1
} finally {
  await provider.shutdown()
}
