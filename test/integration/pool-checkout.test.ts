// The SDK pool's checkout time limit against the embedded PostgreSQL 18: waiting checkouts time out as
// AzurePgErrors on one timer for the pool (pg-pool arms one per waiter, counted here side by side), leave
// pg-pool's queue, are not failed once served, and a client that arrives after its checkout gave up goes
// back to the pool.
import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { Pool as DropInPool } from 'azure-pg-tls/pg'
import { AzurePgError, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { startFakeTlsServer } from '../../lab/fake-tls-server.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { startDelayProxy } from '../../lab/delay-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'

let lab: Lab

before(async () => {
  lab = await startLab(['good'])
})
after(async () => {
  await lab?.stop()
})

function to(port: number, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
    sslrootcert: lab.rootPath, env: {}, learn: 'off', sslnegotiation: 'postgres', ...extra,
  }
}

/** Counts the timers created (referenced or not) while `f` runs. */
async function timersCreatedBy<T>(f: () => Promise<T>): Promise<{ timers: number; result: T }> {
  let timers = 0
  const hook = createHook({ init: (_id, type) => { if (type === 'Timeout') timers++ } })
  hook.enable()
  try {
    const result = await f()
    return { timers, result }
  } finally {
    hook.disable()
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const WAITERS = 200
const LIMIT_MS = 600

describe('pool checkout time limit', () => {
  it(`${WAITERS} waiting checkouts time out as AzurePgErrors on one timer (pg-pool: one each), and leave the queue`, async () => {
    const port = lab.server('good').port
    const sdk = await createAzurePgPool(to(port, { max: 1, connectionTimeoutMillis: LIMIT_MS }))
    const raw = new pg.Pool({
      host: '127.0.0.1', port, database: 'postgres', user: LOGINS.flexible.user, password: LOGINS.flexible.password,
      ssl: { ca: lab.root.pem, servername: AZURE_HOST }, max: 1, connectionTimeoutMillis: LIMIT_MS,
    })
    const burst = (pool: pg.Pool) => timersCreatedBy(() => Promise.all(Array.from({ length: WAITERS }, () => pool.query('SELECT 1').then(() => undefined, (e: unknown) => e))))
    // Each pool's only client is checked out, so every query of the burst waits and times out.
    const heldRaw = await raw.connect()
    const ofRaw = await burst(raw).finally(() => heldRaw.release())
    const heldSdk = await sdk.connect()
    const ofSdk = await burst(sdk).finally(() => heldSdk.release())
    assert.ok(ofRaw.timers >= WAITERS, `pg-pool armed ${ofRaw.timers} timers for ${WAITERS} waiters`)
    assert.ok(ofSdk.timers <= 5, `the SDK pool armed ${ofSdk.timers} timers for ${WAITERS} waiters`)
    for (const e of ofRaw.result) assert.match(String(e), /timeout exceeded when trying to connect/)
    for (const e of ofSdk.result) {
      assert.ok(e instanceof AzurePgError, `a timed-out checkout is an AzurePgError: ${String(e)}`)
      assert.equal(e.code, 'CONNECTION_FAILED')
      assert.equal(e.reason, 'timeout')
    }
    assert.equal(sdk.waitingCount, 0, 'timed-out checkouts left pg-pool\'s queue')
    const r = await sdk.query<{ n: number }>('SELECT 7 AS n')
    assert.equal(r.rows[0]?.n, 7, 'the pool serves again once its client is back')
    await sdk.end()
    await raw.end()
  })

  it('a checkout served before its deadline is answered once, and never failed afterwards', async () => {
    const pool = await createAzurePgPool(to(lab.server('good').port, { max: 1, connectionTimeoutMillis: LIMIT_MS }))
    const held = await pool.connect()
    const answers: Array<Error | undefined> = []
    let got: pg.PoolClient | undefined
    pool.connect((err, client, done) => {
      answers.push(err)
      got = client
      if (client !== undefined) setTimeout(() => done(), LIMIT_MS * 2)
    })
    await sleep(LIMIT_MS / 3)
    held.release()
    await sleep(LIMIT_MS * 2)
    assert.deepEqual(answers, [undefined], 'one answer: the client')
    assert.ok(got !== undefined)
    await sleep(LIMIT_MS)
    assert.equal(answers.length, 1)
    await pool.end()
  })

  it('a client that connects after its checkout timed out goes back to the pool', async () => {
    // 140 ms round trips: a connection takes about 6 of them, longer than what is left of the checkout's wait.
    const proxy = await startDelayProxy({ upstreamPort: lab.server('good').port, delayMs: 70 })
    const limit = 1500
    const pool = await createAzurePgPool(to(proxy.port, { max: 1, connectionTimeoutMillis: limit }))
    try {
      const held = await pool.connect()
      const waiting = pool.connect().then(() => undefined, (e: unknown) => e)
      await sleep(1000)
      // A released-with-error client is removed: pg-pool connects a new one for the waiter, which times out first.
      held.release(new Error('drop this client'))
      const err = await waiting
      assert.ok(err instanceof AzurePgError && err.reason === 'timeout', `the waiter timed out: ${String(err)}`)
      const connections = proxy.connections().length
      for (let i = 0; i < 60 && pool.idleCount === 0; i++) await sleep(50)
      assert.equal(pool.idleCount, 1, 'the late client is idle in the pool')
      assert.equal(pool.totalCount, 1)
      const r = await pool.query<{ n: number }>('SELECT 8 AS n')
      assert.equal(r.rows[0]?.n, 8)
      assert.equal(proxy.connections().length, connections, 'the query used the late client, not a new connection')
    } finally {
      // Bounded: a client leaked by a broken hand-back would keep end() waiting forever.
      await Promise.race([pool.end(), sleep(3000)])
      await proxy.close()
    }
  })

  it("a failing onConnect or verify hook is an AzurePgError with the hook's error as its cause", async () => {
    const port = lab.server('good').port
    const hookError = new Error('hook failed')
    for (const extra of [
      { onConnect: async () => { throw hookError } },
      { verify: (_client: unknown, done: (err?: Error) => void) => done(hookError) },
    ] as AzurePgPoolOptions[]) {
      const pool = await createAzurePgPool(to(port, { max: 1, connectionTimeoutMillis: LIMIT_MS, ...extra }))
      try {
        const err = await pool.connect().then((c) => { c.release(); return undefined }, (e: unknown) => e)
        assert.ok(err instanceof AzurePgError, `${Object.keys(extra)[0]}: ${String(err)}`)
        assert.equal(err.code, 'CONNECTION_FAILED')
        assert.equal(err.cause, hookError)
      } finally {
        await pool.end()
      }
    }
  })

  it('a checkout whose new client is verified after its time limit is answered once; the client goes back to the pool', async () => {
    const pool = await createAzurePgPool(to(lab.server('good').port, {
      max: 1, connectionTimeoutMillis: LIMIT_MS,
      // The first client is verified at once; the next takes longer than the checkout's time limit.
      verify: ((): AzurePgPoolOptions['verify'] => {
        let calls = 0
        return (_client: unknown, done: (err?: Error) => void) => { setTimeout(() => done(), calls++ === 0 ? 0 : LIMIT_MS * 1.5) }
      })(),
    }))
    try {
      const held = await pool.connect()
      const answers: string[] = []
      pool.connect((err) => { answers.push(err === undefined ? 'client' : `${(err as AzurePgError).reason}`) })
      await sleep(LIMIT_MS / 3)
      // A released-with-error client is removed: pg-pool connects a new one for the waiter.
      held.release(new Error('drop this client'))
      await sleep(LIMIT_MS * 2)
      assert.deepEqual(answers, ['timeout'], 'one answer, the time limit')
      assert.equal(pool.idleCount, 1, 'the late client is idle in the pool')
      assert.equal((await pool.query<{ n: number }>('SELECT 9 AS n')).rows[0]?.n, 9)
    } finally {
      await Promise.race([pool.end(), sleep(3000)])
    }
  })

  it("azure-pg-tls/pg's Pool: a waiting checkout times out as an AzurePgError, at the limit it resolved (here PGCONNECT_TIMEOUT)", async () => {
    // No connectionTimeoutMillis: pg-pool alone would let a checkout wait for ever.
    const pool = new DropInPool({ ...to(lab.server('good').port, { max: 1, env: { PGCONNECT_TIMEOUT: '1' } }) })
    const held = await pool.connect()
    try {
      const started = performance.now()
      const err = await pool.connect().then((c) => { c.release(); return undefined }, (e: unknown) => e)
      const waited = performance.now() - started
      assert.ok(err instanceof AzurePgError && err.reason === 'timeout', String(err))
      assert.ok(waited >= 900, `it waited the limit of 1 s: ${waited.toFixed(0)} ms`)
      assert.equal(pool.waitingCount, 0)
    } finally {
      held.release()
      await pool.end()
    }
  })

  it('pool clients keep their own connect limit (pg-pool\'s copy reads 0): a stalled server fails them by phase', async () => {
    const silent = await startFakeTlsServer('silent', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
    try {
      for (const pool of [
        await createAzurePgPool(to(silent.port, { max: 1, connectionTimeoutMillis: 400 })),
        new DropInPool({ ...to(silent.port, { max: 1, connectionTimeoutMillis: 400 }) }),
      ]) {
        assert.equal((pool as unknown as { options: { connectionTimeoutMillis: number } }).options.connectionTimeoutMillis, 0)
        const err = await pool.connect().then((c) => { c.release(); return undefined }, (e: unknown) => e)
        assert.ok(err instanceof AzurePgError && err.reason === 'timeout', String(err))
        assert.equal(err.phase, 'tls-request', 'the client\'s own limit ended it, in the phase it had reached')
        await pool.end()
      }
    } finally {
      await silent.close()
    }
  })
})
