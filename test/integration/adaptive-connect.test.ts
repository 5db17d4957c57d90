// sslnegotiation 'auto', the shared TLS context and the learned key share, against real servers:
// PostgreSQL 18 (direct TLS capable), one offering only P-256, and a stand-in for a pre-17 server
// that closes on a TLS ClientHello (and, for the key share, one offering only X25519). Every assertion counts events (contexts built, ClientHellos,
// SSLRequests, round trips), never milliseconds.
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, beforeEach, describe, it } from 'node:test'
import pg from 'pg'
import { forgetLearnedFacts, learnedFacts } from '../../src/connect/learned-facts.js'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { countSecureContexts } from '../../lab/context-counter.js'
import { startDelayProxy, type DelayProxy } from '../../lab/delay-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { startNoDirectTlsServer, type NoDirectTlsServer } from '../../lab/no-direct-tls-server.js'
import { countRoundTrips } from '../../lab/round-trips.js'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'
import { sessionFacts } from '../support/session.js'

let lab: Lab
let cacheDir: string
let toGood: DelayProxy
let toP256: DelayProxy
let toX25519: DelayProxy
let pre17: NoDirectTlsServer
const contextsBuilt = countSecureContexts()

before(async () => {
  lab = await startLab(['good', 'p256Only', 'x25519Only'])
  toGood = await startDelayProxy({ upstreamPort: lab.server('good').port, delayMs: 0 })
  toP256 = await startDelayProxy({ upstreamPort: lab.server('p256Only').port, delayMs: 0 })
  toX25519 = await startDelayProxy({ upstreamPort: lab.server('x25519Only').port, delayMs: 0 })
  pre17 = await startNoDirectTlsServer({ upstreamPort: lab.server('good').port })
})
after(async () => {
  await Promise.all([toGood?.close(), toP256?.close(), toX25519?.close(), pre17?.close()])
  await lab?.stop()
})
beforeEach(async () => {
  // Each test learns from nothing: a fresh cache folder, and nothing held in memory.
  forgetLearnedFacts()
  cacheDir = await makeTempDir('learn')
  toGood.reset()
  toP256.reset()
  toX25519.reset()
})

function to(port: number, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
    sslrootcert: lab.rootPath, env: {}, connectionTimeoutMillis: 10_000, certs: { cacheDir }, ...extra,
  }
}

/** Opens a client, checks the server reports its session as TLS, closes it. */
async function once(options: AzurePgPoolOptions): Promise<void> {
  assert.equal((await sessionFacts(await createAzurePgClient(options))).ssl, true)
}

describe('one TLS context per trust set', () => {
  it('builds one context for many connections, clients and pool alike (raw pg builds one per connection)', async () => {
    const before = contextsBuilt()
    for (let i = 0; i < 5; i++) await once(to(lab.server('good').port, { learn: 'off' }))
    const pool = await createAzurePgPool(to(lab.server('good').port, { learn: 'off', max: 4 }))
    await Promise.all(Array.from({ length: 8 }, () => pool.query('SELECT 1')))
    await pool.end()
    assert.equal(contextsBuilt() - before, 1)
  })
})

describe("sslnegotiation 'auto'", () => {
  it('uses the SSLRequest first, then direct TLS for a server that reported 17 or newer', async () => {
    const port = toGood.port
    await once(to(port))
    await once(to(port))
    await once(to(port))
    assert.deepEqual(toGood.connections().map((c) => c.directTls), [false, true, true])
    assert.deepEqual(toGood.connections().map((c) => c.chunks[0]?.kind), ['ssl-request', 'tls-handshake', 'tls-handshake'])
  })

  it('needs one round trip fewer on later connections to PostgreSQL 18', async () => {
    await once(to(toGood.port))
    await once(to(toGood.port))
    const [first, later] = toGood.connections().map((c) => countRoundTrips(c, { lastIsQuery: true }).roundTrips)
    assert.equal((first ?? 0) - (later ?? 0), 1, `first ${String(first)}, later ${String(later)}`)
  })

  it('falls back once, invisibly, on a server that refuses direct TLS, and remembers it', async () => {
    // The stand-in relays the SSLRequest to PostgreSQL 18, which reports 18: the SDK then tries direct TLS.
    const port = pre17.port
    const attempts = pre17.directAttempts()
    for (let i = 0; i < 4; i++) await once(to(port))
    assert.equal(pre17.directAttempts() - attempts, 1, 'one refused direct attempt, then never again')
  })

  it('persists what it learned for the next process, and ignores a corrupt or expired file', async () => {
    await once(to(toGood.port))
    // A new process: nothing in memory, the file in the cache folder.
    await settled()
    forgetLearnedFacts()
    await once(to(toGood.port))
    assert.deepEqual(toGood.connections().map((c) => c.directTls), [false, true])

    forgetLearnedFacts()
    const dayLater = new Date(Date.now() + 25 * 60 * 60 * 1000)
    await once(to(toGood.port, { now: () => dayLater }))
    assert.equal(toGood.connections()[2]?.directTls, false, 'facts older than a day are forgotten')

    forgetLearnedFacts()
    await writeFile(join(cacheDir, 'learned-servers.json'), '{ not json')
    await once(to(toGood.port))
    assert.equal(toGood.connections()[3]?.directTls, false, 'a corrupt file is ignored')
  })

  it('keeps libpq\'s meaning for postgres and direct, and learns nothing with learn: "off"', async () => {
    for (let i = 0; i < 2; i++) await once(to(toGood.port, { sslnegotiation: 'postgres' }))
    for (let i = 0; i < 2; i++) await once(to(toGood.port, { learn: 'off' }))
    await once(to(toGood.port, { sslnegotiation: 'direct' }))
    assert.deepEqual(toGood.connections().map((c) => c.directTls), [false, false, false, false, true])
    await assert.rejects(once(to(pre17.port, { sslnegotiation: 'direct', connectionTimeoutMillis: 3000 })), (err: Error & { code?: string }) => err.code === 'CONNECTION_FAILED')
  })
})

describe('learned key share', () => {
  it('offers P-256 first: a P-256-only server (PostgreSQL up to 17, Azure) needs no HelloRetryRequest, first connection included', async () => {
    // Raw pg, with Node's default groups (X25519 first), through the same proxy: it pays the retry.
    const raw = new pg.Client({ host: '127.0.0.1', port: toP256.port, user: LOGINS.flexible.user, password: LOGINS.flexible.password, database: 'postgres',
      ssl: { ca: await readFile(lab.rootPath, 'utf8'), servername: AZURE_HOST } })
    await raw.connect()
    await raw.query('SELECT 1')
    await raw.end()
    await once(to(toP256.port, { sslnegotiation: 'postgres' }))
    await once(to(toP256.port, { sslnegotiation: 'postgres' }))
    const [pgCount, first, later] = toP256.connections().map((c) => countRoundTrips(c, { lastIsQuery: true }).roundTrips)
    assert.equal((pgCount ?? 0) - (first ?? 0), 1, `raw pg ${String(pgCount)}, SDK first ${String(first)}`)
    assert.equal(later, first)
  })

  it('remembers a server that chose another group (X25519 only) and offers that one first next time: one round trip fewer', async () => {
    await once(to(toX25519.port, { sslnegotiation: 'postgres' }))
    await once(to(toX25519.port, { sslnegotiation: 'postgres' }))
    const [first, later] = toX25519.connections().map((c) => countRoundTrips(c, { lastIsQuery: true }).roundTrips)
    assert.equal((first ?? 0) - (later ?? 0), 1, `first ${String(first)}, later ${String(later)}`)
  })

  it('records no group for a server that takes the one offered first', async () => {
    await once(to(toGood.port, { sslnegotiation: 'postgres' }))
    await settled()
    const facts = JSON.parse(await readFile(join(cacheDir, 'learned-servers.json'), 'utf8')) as { servers: Record<string, { group?: string }> }
    assert.ok(Object.values(facts.servers).every((f) => f.group === undefined), JSON.stringify(facts))
  })
})

/** Waits for the background writes of this test's facts file to finish. */
async function settled(): Promise<void> {
  await (await learnedFacts('disk', cacheDir, () => new Date()))?.flushed()
}

after(async () => {
  await removeTempDir(cacheDir)
})
