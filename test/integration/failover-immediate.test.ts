// createAzurePgPool through a failover whose primary stops with an immediate shutdown (pg_ctl -m immediate:
// SIGQUIT to every backend, no shutdown checkpoint, as a crash of the primary's zone looks to the standby).
// The evidence is the fast-shutdown test's (test/support/failover-run.ts): nothing acknowledged lost
// (synchronous replication), writes back within the connect limit, one failover event, nothing left open.
// What differs is how the statements in flight end: a backend told to quit immediately sends no error for
// its statement; it sends a WARNING notice with SQLSTATE 57P01 admin_shutdown ("terminating connection due
// to immediate shutdown command", PostgreSQL's quickdie) and closes the connection, so pg reports only
// "Connection terminated unexpectedly". The SDK takes the notice as the server's word: each such statement
// fails with FAILOVER, the notice as its cause.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createAzurePgPool } from '../../src/index.js'
import { checkRideThrough, FAILOVER_LIMIT_MS, poolOptions, pairForTests } from '../support/failover-run.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(FAILOVER_LIMIT_MS)

const pair = pairForTests('writes')

describe('createAzurePgPool through a failover with an immediate shutdown of the primary', () => {
  it('10 writers: 0 acknowledged writes lost, writes resume, each failed statement is FAILOVER caused by the server\'s 57P01 notice', async () => {
    const p = pair()
    const result = await checkRideThrough(p, 'writes', () => createAzurePgPool(poolOptions(p)), 'immediate')
    for (const f of result.failures) {
      const cause = (f as Error).cause as { code?: unknown; severity?: unknown; message?: unknown }
      // Not an ErrorResponse: the notice the backend sent before it closed the connection.
      assert.equal(cause.severity, 'WARNING')
      assert.match(String(cause.message), /immediate shutdown/)
    }
  })

  it('the old primary is down and the promoted standby holds the writes', async () => {
    const p = pair()
    assert.equal(p.primary.running(), false)
    const r = await within(p.admin('standby', 'SELECT pg_is_in_recovery() AS standby, count(*)::int AS n FROM writes'), 'the new primary')
    assert.equal(r.rows[0]?.standby, false)
    assert.ok((r.rows[0]?.n as number) >= 600)
  })
})
