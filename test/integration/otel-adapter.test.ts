// azure-pg-tls/otel: the SDK's connect telemetry as OpenTelemetry spans and metrics, with the real OpenTelemetry
// SDK (in-memory span exporter, a metric reader) against the lab's PostgreSQL 18. In-process: the adapter needs
// no require hooks, only @opentelemetry/api and the SDK's diagnostics channels.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import { MeterProvider, MetricReader, type DataPoint, type MetricData } from '@opentelemetry/sdk-metrics'
import pg from 'pg'
import { createAzurePgClient, createAzurePgPool, type AzurePgOptions } from '../../src/index.js'
import { Pool as DropInPool } from '../../src/connect/pg.js'
import { instrumentAzurePg, type AzurePgInstrumentation } from '../../src/otel/index.js'
import { channels, connectScope, connectsInScope } from '../../src/telemetry/channels.js'
import { FakeCredential, jwt } from '../../lab/fake-credential.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, LOGINS, startLab, type Lab } from '../../lab/lab.js'

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

let lab: Lab
let options: AzurePgOptions
const exporter = new InMemorySpanExporter()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
const reader = new TestReader()
const meterProvider = new MeterProvider({ readers: [reader] })
let adapter: AzurePgInstrumentation
/** The adapter as these tests run it: with the wait-time histogram, so every pool metric is there to check. */
const startAdapter = (): AzurePgInstrumentation => instrumentAzurePg({ tracerProvider, meterProvider, poolWaitTime: true })

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  lab = await startLab(['good'])
  options = {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, user: LOGINS.flexible.user, password: LOGINS.flexible.password,
    database: 'postgres', sslrootcert: lab.rootPath, env: {}, learn: 'memory', connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS,
  }
  adapter = startAdapter()
})
after(async () => {
  adapter?.disable()
  context.disable()
  await lab?.stop()
})

/** Every metric collected now, by name: its data points. */
async function collect(): Promise<Map<string, DataPoint<unknown>[]>> {
  const { resourceMetrics } = await reader.collect()
  const all = resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'azure-pg-tls').flatMap((s) => s.metrics)
  return new Map(all.map((m: MetricData) => [m.descriptor.name, m.dataPoints as DataPoint<unknown>[]]))
}

/** Node 20 and 22's own flag on an AsyncLocalStorage: whether it propagates its store (set by run(), cleared by disable()). */
const connectScopeEnabled = (): unknown => (connectScope as unknown as { enabled?: unknown }).enabled

const children = (spans: readonly ReadableSpan[], parent: ReadableSpan): string[] =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId).map((s) => s.name)

describe('azure-pg-tls/otel', () => {
  it('one connect: a connect span under the caller\'s, a child span per phase, the TLS facts, create_time', async () => {
    exporter.reset()
    const tracer = tracerProvider.getTracer('app')
    await tracer.startActiveSpan('request', async (request) => {
      const client = await createAzurePgClient(options)
      await client.connect()
      await client.end()
      request.end()
    })
    const spans = exporter.getFinishedSpans()
    const connect = spans.find((s) => s.name === 'connect')
    assert.ok(connect !== undefined, spans.map((s) => s.name).join())
    assert.equal(connect.parentSpanContext?.spanId, spans.find((s) => s.name === 'request')?.spanContext().spanId)
    assert.deepEqual(children(spans, connect), ['tcp', 'tls-request', 'tls-handshake', 'authentication'])
    const a = connect.attributes
    assert.deepEqual([a['db.system.name'], a['db.system'], a['server.address'], a['server.port'], a['network.peer.address'], a['db.namespace']],
      ['postgresql', 'postgresql', AZURE_HOST, lab.server('good').port, '127.0.0.1', 'postgres'])
    assert.equal(a['tls.protocol.version'], '1.3')
    assert.equal(typeof a['tls.cipher'], 'string')
    // P-256 is offered first (PostgreSQL up to 17 and Azure offer only P-256), and PostgreSQL 18 takes it.
    assert.equal(a['tls.curve'], 'P-256')
    assert.equal(a['azure_pg_tls.tls.hello_retry_request'], false)
    assert.equal(a['azure_pg_tls.tls.negotiation'], 'postgres')
    // channel_binding=prefer (the default) binds the login to the TLS session when PostgreSQL offers it.
    assert.equal(a['azure_pg_tls.auth.method'], 'SCRAM-SHA-256-PLUS')
    // The trust resolution ran in createAzurePgClient, under the request: a span of its own (the lab's root file).
    const trust = spans.find((s) => s.name === 'trust')
    assert.equal(trust?.attributes['azure_pg_tls.trust.source'], 'file')
    assert.equal(trust?.attributes['azure_pg_tls.trust.tier'], 'custom')
    const createTime = (await collect()).get('db.client.connection.create_time')
    assert.equal(createTime?.length, 1)
    assert.equal((createTime?.[0]?.value as { count: number }).count, 1)
    assert.equal(createTime?.[0]?.attributes['server.address'], AZURE_HOST)
  })

  it('the next connect to that server goes in with direct TLS: no tls-request phase', async () => {
    exporter.reset()
    const client = await createAzurePgClient(options)
    await client.connect()
    await client.end()
    const spans = exporter.getFinishedSpans()
    const connect = spans.find((s) => s.name === 'connect')
    assert.ok(connect !== undefined)
    assert.deepEqual(children(spans, connect), ['tcp', 'tls-handshake', 'authentication'])
    assert.equal(connect.attributes['azure_pg_tls.tls.negotiation'], 'direct')
    assert.equal(connect.attributes['azure_pg_tls.tls.fallback'], false)
  })

  it('refusals: a failed connect is an error span with error.type, and the counter counts each code', async () => {
    exporter.reset()
    const client = await createAzurePgClient({ ...options, password: 'Wrong-Pa55' })
    await client.connect().catch(() => undefined)
    await createAzurePgClient({ ...options, sslmode: 'disable' }).catch(() => undefined)
    const connect = exporter.getFinishedSpans().find((s) => s.name === 'connect')
    assert.equal(connect?.status.code, 2)
    assert.equal(connect?.attributes['error.type'], 'AUTH_FAILED')
    const refusals = (await collect()).get('azure_pg_tls.refusals') ?? []
    const byCode = Object.fromEntries(refusals.map((p) => [`${String(p.attributes['error.type'])}/${String(p.attributes['azure_pg_tls.during'])}`, p.value]))
    assert.equal(byCode['AUTH_FAILED/connect'], 1)
    assert.equal(byCode['INSECURE_TLS/configure'], 1)
  })

  it('an Entra token asked for at login is an event of its connect, cached the second time, never the token', async () => {
    exporter.reset()
    const token = jwt({ upn: 'otel-app' })
    await lab.admin('good', 'CREATE ROLE "otel-app" LOGIN')
    await lab.admin('good', `ALTER ROLE "otel-app" PASSWORD '${token}'`)
    const cred = new FakeCredential(() => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }))
    const { password: _, ...noPassword } = options
    for (let i = 0; i < 2; i++) {
      const client = await createAzurePgClient({ ...noPassword, user: 'otel-app', entra: cred })
      await client.connect()
      await client.end()
    }
    const events = exporter.getFinishedSpans().filter((s) => s.name === 'connect').flatMap((s) => s.events.filter((e) => e.name === 'entra-token'))
    assert.deepEqual(events.map((e) => e.attributes?.['azure_pg_tls.entra.cached']), [false, true])
    assert.equal(cred.calls, 1)
    assert.ok(!JSON.stringify(exporter.getFinishedSpans().map((s) => [s.attributes, s.events])).includes(token.split('.')[2] ?? '-'))
  })

  it('the connect scope is on only while a connect runs: a connect that ends leaves another\'s token event in place, and the last switches it off', async () => {
    exporter.reset()
    const token = jwt({ upn: 'otel-slow' })
    await lab.admin('good', 'CREATE ROLE "otel-slow" LOGIN')
    await lab.admin('good', `ALTER ROLE "otel-slow" PASSWORD '${token}'`)
    // The Entra login's token comes only once the password login is over: the order is fixed, not timed.
    let fastConnected!: () => void
    const gate = new Promise<void>((resolve) => { fastConnected = resolve })
    const cred = new FakeCredential(() => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }))
    const getToken = cred.getToken.bind(cred)
    cred.getToken = async (scopes) => {
      await gate
      return getToken(scopes)
    }
    const { password: _, ...noPassword } = options
    const slow = await createAzurePgClient({ ...noPassword, user: 'otel-slow', entra: cred })
    const fast = await createAzurePgClient(options)
    const slowDone = slow.connect()
    try {
      await fast.connect()
      assert.equal(connectsInScope(), 1, 'the Entra login is still in the scope')
      if (typeof connectScopeEnabled() === 'boolean') assert.equal(connectScopeEnabled(), true, 'the scope is on while a connect is in it')
    } finally {
      // Whatever failed above, the Entra login gets its token and both clients end: nothing is left waiting.
      fastConnected()
      await slowDone.catch(() => undefined)
      await Promise.allSettled([slow.end(), fast.end()])
    }
    await slowDone
    assert.equal(cred.calls, 1)
    // Finished in that order: the password login's connect span, then the Entra login's, which has the token event.
    const connects = exporter.getFinishedSpans().filter((s) => s.name === 'connect')
    assert.deepEqual(connects.map((s) => s.events.filter((e) => e.name === 'entra-token').length), [0, 1])
    assert.equal(connectsInScope(), 0)
    // Node 20 and 22: an enabled AsyncLocalStorage copies its store onto every promise the application makes,
    // for ever. (Node 24's has no such flag, nor that cost.)
    if (typeof connectScopeEnabled() === 'boolean') assert.equal(connectScopeEnabled(), false, 'no connect runs: the scope is off')
    else assert.ok(Number(process.versions.node.split('.')[0]) >= 24, 'AsyncLocalStorage has its enabled flag up to Node 22')
  })

  for (const [kind, make] of [
    ['createAzurePgPool', async () => createAzurePgPool({ ...options, max: 2 })],
    ['the drop-in Pool', async () => new DropInPool({ ...options, max: 2 })],
  ] as const) {
    it(`pool metrics of ${kind}: connections by state, pending requests, wait time`, async () => {
      const pool: pg.Pool = await make()
      const name = `${AZURE_HOST}:${lab.server('good').port}/postgres`
      const waitCount = async (): Promise<number> => ((await collect()).get('db.client.connection.wait_time')?.find((p) => p.attributes['db.client.connection.pool.name'] === name)?.value as { count: number } | undefined)?.count ?? 0
      const waitsBefore = await waitCount()
      const held = [await pool.connect(), await pool.connect()]
      const waiting = pool.connect()
      await new Promise((resolve) => setImmediate(resolve))
      const during = await collect()
      const count = (state: string): unknown => during.get('db.client.connection.count')?.find((p) => p.attributes['db.client.connection.state'] === state && p.attributes['db.client.connection.pool.name'] === name)?.value
      assert.deepEqual([count('used'), count('idle')], [2, 0])
      assert.equal(during.get('db.client.connection.pending_requests')?.find((p) => p.attributes['db.client.connection.pool.name'] === name)?.value, 1)
      assert.equal(during.get('db.client.connection.max')?.find((p) => p.attributes['db.client.connection.pool.name'] === name)?.value, 2)
      held[0]?.release()
      ;(await waiting).release()
      held[1]?.release()
      // Each checkout told once: two that opened a connection, one served by a released client (the series is the process's).
      assert.equal(await waitCount() - waitsBefore, 3)
      // The callback forms: pool.query checks out through pg-pool's callback form, and connect(callback).
      assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }])
      await new Promise<void>((resolve, reject) => {
        pool.connect((err, client, done) => {
          if (err !== undefined && err !== null) reject(err)
          else if (client === undefined) reject(new Error('no client'))
          else client.query('SELECT 2 AS two').then((r) => { done(); assert.deepEqual(r.rows, [{ two: 2 }]); resolve() }, reject)
        })
      })
      assert.equal(await waitCount() - waitsBefore, 5)
      await pool.end()
      const afterEnd = (await collect()).get('db.client.connection.count')?.filter((p) => p.attributes['db.client.connection.pool.name'] === name) ?? []
      assert.ok(afterEnd.every((p) => p.value === 0), 'an ended pool is no longer observed')
    })
  }

  it('no secret in any span or metric', async () => {
    const spans = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events, s.status]))
    const measured = JSON.stringify([...(await collect())])
    for (const secret of [LOGINS.flexible.password, 'Wrong-Pa55']) assert.ok(!spans.includes(secret) && !measured.includes(secret), secret)
  })

  it('costs nothing when nobody listens: with the adapter disabled, no channel has a subscriber and no span is made', async () => {
    adapter.disable()
    try {
      for (const c of Object.values(channels)) assert.equal(c.hasSubscribers, false)
      exporter.reset()
      const client = await createAzurePgClient(options)
      const before = (client as unknown as { connection: { listenerCount(e: string): number } }).connection.listenerCount('sslconnect')
      await client.connect()
      await client.end()
      assert.deepEqual(exporter.getFinishedSpans(), [])
      assert.ok(before >= 0)
    } finally {
      adapter = startAdapter()
    }
  })

  it('times checkouts only when asked: by default no pool:wait subscriber, no wait_time, the other pool metrics still there', async () => {
    adapter.disable()
    const plain = instrumentAzurePg({ tracerProvider, meterProvider })
    try {
      assert.deepEqual([channels.poolWait.hasSubscribers, channels.poolCreated.hasSubscribers, channels.connectStart.hasSubscribers], [false, true, true])
      const pool = await createAzurePgPool({ ...options, database: 'template1', max: 1 })
      const name = `${AZURE_HOST}:${lab.server('good').port}/template1`
      try {
        assert.deepEqual((await pool.query('SELECT 1 AS one')).rows, [{ one: 1 }])
        const measured = await collect()
        assert.equal(measured.get('db.client.connection.wait_time')?.some((p) => p.attributes['db.client.connection.pool.name'] === name) ?? false, false)
        assert.equal(measured.get('db.client.connection.count')?.find((p) => p.attributes['db.client.connection.pool.name'] === name && p.attributes['db.client.connection.state'] === 'idle')?.value, 1)
      } finally {
        await pool.end()
      }
    } finally {
      plain.disable()
      adapter = startAdapter()
    }
  })
})
