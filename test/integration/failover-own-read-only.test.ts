// A session made read-only by the application itself is not a failover: a write refused with 25006 on a
// writable primary stays the application's SQL error, and the pool keeps its other connections. (Taking it
// for a failover told the application to retry the write on a fresh session, without the read-only guard it
// had set, and dropped every idle client: any code that can run SQL could churn the pool.)
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { createAzurePgPool } from '../../src/index.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { settledReading } from '../support/handles.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(15_000)
let lab: Lab
before(async () => { lab = await startLab(['good']) })
after(async () => { await lab?.stop() })

async function poolWithIdle(idle: number): Promise<pg.Pool> {
  const pool = await createAzurePgPool({
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, database: 'postgres', user: LOGINS.flexible.user,
    password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {}, learn: 'off', max: idle + 1, connectionTimeoutMillis: 10_000,
  })
  const warm = await Promise.all(Array.from({ length: idle }, () => within(pool.connect(), 'warm-up checkout')))
  for (const c of warm) c.release()
  return pool
}

describe('the application\'s own read-only settings are not a failover', () => {
  for (const setting of ['SET default_transaction_read_only = on', 'SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY']) {
    it(`${setting}: the write fails with the server's 25006, and the idle clients stay`, async () => {
      const pool = await poolWithIdle(3)
      let failovers = 0
      pool.on('failover' as 'error', () => { failovers++ })
      try {
        const c = await within(pool.connect(), 'checkout')
        // Released whatever happens: pool.end() waits for every checked-out client, as pg-pool's does, so a
        // failed assertion that kept it would turn into a hung test file instead of a failed test.
        try {
          await c.query(setting)
          const err = await c.query('CREATE TABLE own_read_only_probe (id int)').then(() => undefined, (e: unknown) => e)
          assert.equal((err as { code?: unknown } | undefined)?.code, '25006', String(err))
          await c.query('RESET ALL')
        } finally {
          c.release()
        }
        // The pool drops a lost server's idle clients on the next tick: read the counts once they are steady.
        const [total, idle] = await settledReading(() => [pool.totalCount, pool.idleCount], 1000)
        assert.equal(total, 3)
        assert.equal(idle, 3)
        assert.equal(failovers, 0)
      } finally {
        await within(pool.end(), 'pool.end()')
      }
    })
  }
})
