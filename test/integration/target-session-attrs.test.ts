// target_session_attrs picks the right server of a real replicated pair (PostgreSQL 18 primary + streaming
// hot standby, each with its own certificate and name), for every value, in both orders; with the wanted
// role absent the connect fails naming each server's outcome; prefer-standby falls back to a primary. A
// third server, a primary that is read-only by default (default_transaction_read_only=on), tells read-only
// apart from standby. Through createAzurePgClient, createAzurePgPool and the azure-pg-tls/pg drop-in.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { Client as DropInClient, Pool as DropInPool } from '../../src/connect/pg.js'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import type { TargetSessionAttrs } from '../../src/options.js'
import { PRIMARY_HOST, STANDBY_HOST, startHaPair, type HaPair } from '../../lab/ha-pair.js'
import { LOGINS, adminQuery } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { connectError } from '../support/assert-error.js'
import { startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { timeLimit } from '../support/within.js'

const PgClient = pg.Client

const within = timeLimit(20_000)
const READ_ONLY_HOST = 'mydemoserver-ro.postgres.database.azure.com'

let pair: HaPair
let readOnly: RunningPostgres

before(async () => {
  pair = await startHaPair({ synchronous: false })
  readOnly = await startPostgres({ tls: await issueServerCertificate(pair.root, { dnsNames: [READ_ONLY_HOST] }), settings: { default_transaction_read_only: 'on' } })
  for (const { user, password } of Object.values(LOGINS)) {
    await adminQuery(readOnly, `BEGIN READ WRITE; CREATE ROLE "${user}" LOGIN PASSWORD '${password}'; COMMIT`)
  }
})
after(async () => {
  await Promise.all([pair?.stop(), readOnly?.stop()])
})

type Member = 'primary' | 'standby' | 'readOnly'
const NAMES: Record<Member, string> = { primary: PRIMARY_HOST, standby: STANDBY_HOST, readOnly: READ_ONLY_HOST }
const portOf = (m: Member): number => (m === 'primary' ? pair.primary.port : m === 'standby' ? pair.standby.port : readOnly.port)

function options(members: readonly Member[], attrs: TargetSessionAttrs, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: members.map((m) => NAMES[m]), hostaddr: members.map(() => '127.0.0.1'), port: members.map(portOf),
    database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
    sslrootcert: pair.rootPath, env: {}, connectionTimeoutMillis: 10_000, learn: 'memory', target_session_attrs: attrs, ...extra,
  }
}

/** Which server a connected client is on, asked of the server itself (its port), and the name the client reports. */
async function landedOn(client: pg.Client | pg.PoolClient): Promise<{ member: Member; host: unknown }> {
  const r = await client.query<{ port: number }>('SELECT inet_server_port() AS port')
  const port = r.rows[0]?.port
  const member = (['primary', 'standby', 'readOnly'] as const).find((m) => portOf(m) === port)
  assert.ok(member !== undefined, `connected to an unknown port ${String(port)}`)
  return { member, host: (client as unknown as { host: unknown }).host }
}

async function connectVia(kind: 'client' | 'pool' | 'drop-in' | 'drop-in-pool', opts: AzurePgPoolOptions): Promise<{ member: Member; host: unknown }> {
  if (kind === 'client') {
    const c = await createAzurePgClient(opts)
    await within(c.connect(), 'connect')
    try { return await landedOn(c) } finally { await c.end() }
  }
  if (kind === 'pool' || kind === 'drop-in-pool') {
    const pool = kind === 'pool' ? await createAzurePgPool({ ...opts, max: 1 }) : new DropInPool({ ...opts, max: 1 })
    try {
      const c = await within(pool.connect(), 'checkout')
      try { return await landedOn(c) } finally { c.release() }
    } finally { await pool.end() }
  }
  const c = new DropInClient(opts)
  await within(c.connect(), 'drop-in connect')
  try { return await landedOn(c) } finally { await c.end() }
}

describe('target_session_attrs on a real primary/standby pair', () => {
  // [servers in order, value, the server it must settle on]: each value in the order that makes it skip one.
  const cases: Array<[readonly Member[], TargetSessionAttrs, Member]> = [
    [['standby', 'primary'], 'any', 'standby'],
    [['primary', 'standby'], 'any', 'primary'],
    [['standby', 'primary'], 'read-write', 'primary'],
    [['primary', 'standby'], 'read-only', 'standby'],
    [['standby', 'primary'], 'primary', 'primary'],
    [['primary', 'standby'], 'standby', 'standby'],
    [['primary', 'standby'], 'prefer-standby', 'standby'],
    // A primary that is read-only by default is read-only, but not a standby.
    [['readOnly', 'standby'], 'read-only', 'readOnly'],
    [['readOnly', 'standby'], 'standby', 'standby'],
    [['readOnly', 'primary'], 'read-write', 'primary'],
    [['readOnly', 'primary'], 'primary', 'readOnly'],
  ]
  for (const [members, attrs, expected] of cases) {
    it(`${members.join(', ')} with ${attrs}: settles on the ${expected}`, async () => {
      const got = await connectVia('client', options(members, attrs))
      assert.equal(got.member, expected)
      // The client names the server it is connected to, as libpq's PQhost does.
      assert.equal(got.host, NAMES[expected])
    })
  }

  for (const kind of ['pool', 'drop-in'] as const) {
    it(`${kind}: read-write skips the standby listed first, and standby skips the primary`, async () => {
      assert.equal((await connectVia(kind, options(['standby', 'primary'], 'read-write'))).member, 'primary')
      assert.equal((await connectVia(kind, options(['primary', 'standby'], 'standby'))).member, 'standby')
    })
  }

  it('drop-in Pool: every new connection goes through the loop', async () => {
    const pool = new DropInPool({ ...options(['standby', 'primary'], 'primary'), max: 2 })
    try {
      const [a, b] = await Promise.all([within(pool.connect(), 'first'), within(pool.connect(), 'second')])
      assert.deepEqual([(await landedOn(a)).member, (await landedOn(b)).member], ['primary', 'primary'])
      a.release()
      b.release()
    } finally { await pool.end() }
  })

  it('prefer-standby with no standby falls back to the first primary, in a second pass', async () => {
    assert.equal((await connectVia('client', options(['readOnly', 'primary'], 'prefer-standby'))).member, 'readOnly')
    assert.equal((await connectVia('client', options(['primary', 'readOnly'], 'prefer-standby'))).member, 'primary')
  })

  for (const kind of ['pool', 'drop-in-pool'] as const) {
    it(`${kind}: prefer-standby takes the standby when one answers, and a primary when none does (libpq's second pass)`, async () => {
      assert.equal((await connectVia(kind, options(['primary', 'standby'], 'prefer-standby'))).member, 'standby')
      assert.equal((await connectVia(kind, options(['primary'], 'prefer-standby'))).member, 'primary')
      assert.equal((await connectVia(kind, options(['readOnly', 'primary'], 'prefer-standby'))).member, 'readOnly')
    })
  }

  // [servers, value, what each server's outcome says]: the wanted kind is not in the list.
  const absent: Array<[readonly Member[], TargetSessionAttrs, RegExp]> = [
    [['standby', 'readOnly'], 'read-write', /standby\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ is read-only; mydemoserver-ro\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ is read-only/],
    [['primary', 'readOnly'], 'standby', /primary\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ is not in hot standby; mydemoserver-ro\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ is not in hot standby/],
    [['standby'], 'primary', /is in hot standby, and target_session_attrs asks for a primary server/],
    [['primary'], 'read-only', /is not read-only, and target_session_attrs asks for a read-only server/],
  ]
  for (const [members, attrs, says] of absent) {
    it(`${members.join(', ')} with ${attrs}: fails, naming each server's outcome`, async () => {
      const err = await connectError(options(members, attrs), within)
      assert.equal(err.code, 'CONNECTION_FAILED')
      assert.equal(err.reason, 'session-attrs')
      assert.match(err.message, says)
      if (members.length > 1) {
        assert.match(err.message, new RegExp(`with target_session_attrs=${attrs} to the host list \\(${members.length} servers\\)`))
        assert.equal(err.errors.length, members.length)
        assert.ok(err.errors.every((e) => e instanceof AzurePgError && e.reason === 'session-attrs'))
      }
      // Nothing user-typed beyond the host names (validated config), and never the password.
      assert.ok(!err.message.includes(LOGINS.flexible.password))
    })
  }

  it('a pool whose wanted server is absent rejects the checkout with the same error, and stays usable', async () => {
    const pool = await createAzurePgPool({ ...options(['standby'], 'read-write'), max: 1 })
    try {
      const err = await within(pool.query('SELECT 1').then(() => undefined, (e: unknown) => e), 'query')
      assert.ok(err instanceof AzurePgError && err.reason === 'session-attrs', String(err))
    } finally { await pool.end() }
  })
})

/** The functions reading a connected client's stream, by name: pg's own parser, or something in between. */
function dataListeners(client: pg.Client): string[] {
  const stream = (client as unknown as { connection: { stream: { listeners(event: 'data'): Array<{ name: string }> } } }).connection.stream
  return stream.listeners('data').map((f) => f.name)
}

/**
 * The next uncaught exception, while `during` runs: the test runner's own handler, which would fail the test,
 * is set aside meanwhile (the exception is expected).
 */
async function nextUncaught(during: () => Promise<unknown> | undefined): Promise<unknown> {
  const runners = process.listeners('uncaughtException')
  process.removeAllListeners('uncaughtException')
  try {
    const caught = new Promise<unknown>((resolve) => { process.once('uncaughtException', resolve) })
    await during()
    return await within(caught, 'the exception')
  } finally {
    process.removeAllListeners('uncaughtException')
    for (const listener of runners) process.on('uncaughtException', listener)
  }
}

describe('after the login, the stream is pg\'s own, through the host loop too', () => {
  // The guard against what pg cannot parse lasts until the login's ReadyForQuery (from the server the client
  // settles on, after any server the loop moved past): after it, each query's data reaches pg's parser with
  // nothing in between, as with plain pg, and an exception from the caller's own callback goes to the
  // process as it does with plain pg.
  let plain: string[] = []
  before(async () => {
    const client = new PgClient({
      host: '127.0.0.1', port: pair.primary.port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
      ssl: { ca: await readFile(pair.rootPath, 'utf8'), servername: PRIMARY_HOST, rejectUnauthorized: true },
    })
    await within(client.connect(), 'plain pg connect')
    try { plain = dataListeners(client) } finally { await within(client.end(), 'plain pg end') }
  })
  const cases: Array<[readonly Member[], TargetSessionAttrs]> = [
    [['primary'], 'any'],
    [['standby', 'primary'], 'read-write'],
    [['readOnly', 'primary'], 'read-write'],
  ]
  for (const [members, attrs] of cases) {
    it(`${members.join(', ')} with ${attrs}: pg reads the stream itself; a query callback's exception is the caller's, and the session goes on`, async () => {
      const client = await createAzurePgClient(options(members, attrs))
      const errors: unknown[] = []
      client.on('error', (err) => errors.push(err))
      await within(client.connect(), 'connect')
      try {
        assert.equal(plain.length, 1, 'plain pg reads its stream through one listener')
        assert.deepEqual(dataListeners(client), plain)
        const boom = new Error('thrown by the caller\'s callback')
        assert.equal(await nextUncaught(() => { client.query('SELECT 1', () => { throw boom }); return undefined }), boom)
        const next = await within(client.query<{ n: number }>('SELECT 2 AS n'), 'the next query')
        assert.equal(next.rows[0]?.n, 2)
        assert.deepEqual(errors, [], 'the client reported no error of its own')
      } finally {
        await within(client.end(), 'end')
      }
    })

    it(`${members.join(', ')} with ${attrs}: a 'connect' listener's exception is the caller's, as with plain pg`, async () => {
      const client = await createAzurePgClient(options(members, attrs))
      const errors: unknown[] = []
      client.on('error', (err) => errors.push(err))
      const boom = new Error('thrown by the caller\'s connect listener')
      // pg emits 'connect' from its ReadyForQuery handler, inside the parse of the server's data (and, as
      // with plain pg, a listener that throws there leaves the client short of ready for queries).
      client.once('connect', () => { throw boom })
      try {
        assert.equal(await nextUncaught(() => within(client.connect(), 'connect')), boom)
        assert.deepEqual(dataListeners(client), plain)
        assert.deepEqual(errors, [], 'the client reported no error of its own (the exception was not taken for the server\'s)')
      } finally {
        await within(client.end(), 'end')
      }
    })
  }
})
