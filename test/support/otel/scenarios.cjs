// What an application does with pg under OpenTelemetry, through every way the SDK offers and through plain pg
// (the control): promise, callback and submittable queries, failures, connects. Returns, per way in, the
// spans that ended and the names of those still open after the work and the clients are done.
'use strict'

const SETTLE_MS = 100

/** A span as the test reads it: name, attributes, status, whether its parent was in this trace. */
function summary(span) {
  return { name: span.name, attributes: span.attributes, status: span.status.code, error: span.status.message ?? null, events: span.events.map((e) => ({ name: e.name, attributes: e.attributes ?? {} })) }
}

const callback = (q, ...args) => new Promise((resolve) => q.query(...args, (err, result) => resolve(err ? `error:${err.code ?? err.message}` : result.rows.length)))

/** Promise, callback (text, cb), callback (text, values, cb), a config object with a callback, and failures of each. */
async function queries(q) {
  await q.query('SELECT 1 AS one')
  await q.query('SELECT $1::int AS two', [2])
  await callback(q, 'SELECT 3 AS three')
  await callback(q, 'SELECT $1::int AS four', [4])
  await callback(q, { text: 'SELECT $1::int AS five', values: [5] })
  await q.query('SELECT * FROM no_such_table').catch(() => undefined)
  await callback(q, 'SELECT * FROM no_such_table')
}

/** pg-cursor (read part, then close) and pg-query-stream (read to the end), on one client. */
async function submittables(client, { Cursor, QueryStream }) {
  const cursor = client.query(new Cursor('SELECT generate_series(1, 5) AS n'))
  await cursor.read(2)
  await cursor.close()
  const drained = client.query(new Cursor('SELECT generate_series(1, 3) AS n'))
  await drained.read(10)
  await drained.close()
  let rows = 0
  for await (const _ of client.query(new QueryStream('SELECT generate_series(1, 3) AS n'))) rows += 1
  return rows
}

module.exports = async function run(m) {
  const { exporter, open } = globalThis.__otelProbe
  const { options, raw } = JSON.parse(process.env.OTEL_PROBE)
  const results = {}
  const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
  const record = async (name, work) => {
    exporter.reset()
    let failure = null
    try {
      await work()
    } catch (err) {
      failure = `${err.code ?? ''} ${err.message}`
    }
    await settle()
    results[name] = { failure, spans: exporter.getFinishedSpans().map(summary), open: [...open].map((s) => s.name) }
    open.clear()
  }

  await record('raw pg (control)', async () => {
    const client = new m.pg.Client({ ...raw, ssl: { ca: raw.ca, servername: raw.servername } })
    await client.connect()
    await queries(client)
    await submittables(client, m)
    await client.end()
  })

  await record('createAzurePgClient', async () => {
    const client = await m.sdk.createAzurePgClient(options)
    await client.connect()
    await queries(client)
    await submittables(client, m)
    await client.end()
  })

  await record('createAzurePgClient, connect callback', async () => {
    const client = await m.sdk.createAzurePgClient(options)
    await new Promise((resolve, reject) => client.connect((err) => (err ? reject(err) : resolve())))
    await callback(client, 'SELECT 1')
    await client.end()
  })

  await record('createAzurePgPool', async () => {
    const pool = await m.sdk.createAzurePgPool({ ...options, max: 2 })
    await queries(pool)
    const client = await pool.connect()
    await submittables(client, m)
    client.release()
    await pool.end()
  })

  await record('resolveAzurePgConfig + pg.Pool', async () => {
    // Not a spread: the resolved configuration's password is not enumerable (see docs/drop-in.md).
    const pool = new m.pg.Pool(Object.assign(await m.sdk.resolveAzurePgConfig(options), { max: 2 }))
    await queries(pool)
    const client = await pool.connect()
    await submittables(client, m)
    client.release()
    await pool.end()
  })

  await record('azure-pg-tls/pg Pool', async () => {
    const pool = new m.dropIn.Pool({ ...options, max: 2 })
    await queries(pool)
    const client = await pool.connect()
    await submittables(client, m)
    client.release()
    await pool.end()
  })

  await record('azure-pg-tls/pg Client', async () => {
    const client = new m.dropIn.Client(options)
    await client.connect()
    await queries(client)
    await client.end()
  })

  await record('Knex with azure-pg-tls/pg', async () => {
    class AzurePgKnexClient extends m.KnexPg {
      _driver() { return m.dropIn }
    }
    const db = m.knex({ client: AzurePgKnexClient, connection: options, pool: { min: 0, max: 1 } })
    try {
      await db.raw('SELECT 1 AS one')
      await db.raw('SELECT ?::int AS two', [2])
      await db.raw('SELECT * FROM no_such_table').catch(() => undefined)
    } finally {
      await db.destroy()
    }
  })

  await record('a refused connect (wrong password)', async () => {
    const client = await m.sdk.createAzurePgClient({ ...options, password: 'Wrong-Pa55' })
    await client.connect().catch(() => undefined)
  })

  return { results }
}
