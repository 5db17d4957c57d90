// A COMMIT cut off by a shutdown while it waits for the synchronous standby (Azure's HA commits wait for
// the standby): PostgreSQL then sends no error, only a notice (57P01 "canceling the wait for synchronous
// replication and terminating connection"; the transaction "has already committed locally") and closes
// the connection. The statement must still say FAILOVER, with that notice as its cause, and the row is
// there after the restart: why a retried transaction must be idempotent. The standby here never
// acknowledges (synchronous_standby_names names nobody), so the wait is certain, not a matter of timing.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AzurePgError, createAzurePgPool, type FailoverEvent } from '../../src/index.js'
import { AZURE_HOST, createLogins, LOGINS, startLab, type Lab, adminQuery } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { timeLimit } from '../support/within.js'
import { waitFor } from '../../lab/wait-for.js'

const within = timeLimit(30_000)

let lab: Lab | undefined
let server: RunningPostgres | undefined
before(async () => {
  lab = await startLab([])
  server = await startPostgres({ tls: await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }) })
  await createLogins(server)
  await adminQuery(server, 'CREATE TABLE t (id int PRIMARY KEY); GRANT ALL ON t TO PUBLIC')
  // From now on every commit waits for a synchronous standby named "nobody".
  await adminQuery(server, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
  await adminQuery(server, 'SELECT pg_reload_conf()')
})
after(async () => {
  await server?.stop()
  await lab?.stop()
})

describe('a commit waiting for the synchronous standby when the server shuts down', () => {
  it('fails with FAILOVER (the 57P01 notice as cause), committed locally all the same; the same server back is no failover', async () => {
    const s = server as RunningPostgres
    const pool = await createAzurePgPool({
      host: AZURE_HOST, hostaddr: '127.0.0.1', port: s.port, database: 'postgres', user: LOGINS.flexible.user,
      password: LOGINS.flexible.password, sslrootcert: (lab as Lab).rootPath, env: {}, learn: 'off', max: 2, connectionTimeoutMillis: 10_000,
    })
    const events: FailoverEvent[] = []
    pool.on('failover', (e) => events.push(e))
    pool.on('error', () => undefined)
    try {
      const waiting = pool.query('INSERT INTO t VALUES (1)').then(() => undefined, (e: unknown) => e)
      // The INSERT waits for a standby that never answers: until the server is shut down.
      await waitFor('the INSERT waiting for SyncRep', 5000, async () =>
        ((await adminQuery(s, "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'SyncRep'")).rows[0] as { n: number }).n > 0)
      await within(s.restart(), 'the restart')
      const err = await within(waiting, 'the cut-off INSERT')
      assert.ok(err instanceof AzurePgError, String(err))
      assert.equal(err.code, 'FAILOVER', err.message)
      assert.match(err.message, /canceling the wait for synchronous replication/)
      assert.equal((err.cause as { code?: unknown; severity?: unknown }).code, '57P01')
      assert.equal((err.cause as { severity?: unknown }).severity, 'WARNING')
      // Committed locally before the shutdown: a blind retry would insert it twice (here: a duplicate key).
      const r = await within(adminQuery(s, 'SELECT count(*)::int AS n FROM t WHERE id = 1'), 'reading the row')
      assert.equal((r.rows[0] as { n: number }).n, 1)
      // The pool serves again, from the same server: no failover event.
      const again = await within(pool.query<{ n: number }>('SELECT 1 AS n'), 'the next query')
      assert.equal(again.rows[0]?.n, 1)
      assert.deepEqual(events, [])
    } finally {
      await pool.end()
    }
  })
})
