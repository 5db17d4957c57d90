// A pool whose host name points at a read-only server during a failover: the primary is stopped and the
// relay (the DNS answer) already points at the standby while it is still in recovery, for a moment,
// before it is promoted. With target_session_attrs=any (the default) the pool hands out connections to
// the standby, a write there fails with 25006, and that statement says FAILOVER (the standby reports
// in_hot_standby=on, so it is no application SET TRANSACTION READ ONLY) and the pool drops those
// connections; with target_session_attrs=read-write no connection to the standby is handed out at all,
// so no write ever meets a read-only server. Either way nothing acknowledged is lost and writes resume.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { AzurePgError, createAzurePgPool, type AzurePgOptions, type FailoverEvent } from '../../src/index.js'
import type { HaPair } from '../../lab/ha-pair.js'
import { missingWrites, writeThroughFailover, type WorkloadResult } from '../../lab/failover-workload.js'
import { FAILOVER_LIMIT_MS, pairForTests, poolOptions, startPairWithTables } from '../support/failover-run.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(FAILOVER_LIMIT_MS)
/** How long the name points at the standby before it is promoted. */
const READ_ONLY_MS = 1000

const pair = pairForTests('writes_any')

/** The failover with a read-only moment: the name moves to the standby first, the primary stops, the standby is promoted a moment later. */
async function readOnlyFirst(p: HaPair): Promise<void> {
  p.pointRelayAt('standby')
  await p.stopPrimary('fast')
  await new Promise((resolve) => setTimeout(resolve, READ_ONLY_MS))
  await p.promoteStandby()
}

/**
 * Ten writers through `readOnlyFirst` with a new SDK pool: the workload must end in time and every
 * acknowledged write must be on the new primary. Returns what the writers saw and the pool's failover events.
 */
async function writeThroughReadOnly(p: HaPair, table: string, targetSessionAttrs: NonNullable<AzurePgOptions['target_session_attrs']>): Promise<{ result: WorkloadResult; events: FailoverEvent[] }> {
  const pool = await createAzurePgPool({ ...poolOptions(p), target_session_attrs: targetSessionAttrs })
  const events: FailoverEvent[] = []
  pool.on('failover', (e) => events.push(e))
  pool.on('error', () => undefined)
  const result = await within(writeThroughFailover(pool, p, { writers: 10, table, writesBefore: 200, writesAfter: 200, limitMs: FAILOVER_LIMIT_MS, failover: readOnlyFirst }), 'the workload')
  await within(pool.end(), 'pool.end()')
  assert.equal(result.timedOut, false)
  assert.deepEqual(await within(missingWrites(p, 'standby', table, result.acked), 'reading the new primary'), [])
  return { result, events }
}

describe('a failover that passes through a read-only server', () => {
  it('target_session_attrs=any: writes on the standby fail with FAILOVER (25006), are not lost when acknowledged, and resume after the promotion', async () => {
    const { result, events } = await writeThroughReadOnly(pair(), 'writes_any', 'any')
    const causes = new Map<string, number>()
    for (const f of result.failures) {
      assert.ok(f instanceof AzurePgError && f.code === 'FAILOVER', `${String(f)}`)
      const code = String((f.cause as { code?: unknown }).code)
      causes.set(code, (causes.get(code) ?? 0) + 1)
    }
    assert.ok((causes.get('25006') ?? 0) > 0, `writes met the read-only standby: ${JSON.stringify([...causes])}`)
    assert.deepEqual([...causes.keys()].filter((c) => c !== '25006' && c !== '57P01'), [])
    assert.ok(result.failures.some((f) => /refused a write as read-only/.test((f as Error).message)))
    // The pool reached the standby once (from the old primary); the read-only errors there are the same server again.
    assert.equal(events.length, 1, JSON.stringify(events))
    assert.equal(events[0]?.signal, 'shutdown')
  })

  it('target_session_attrs=read-write: no connection to the standby is handed out before its promotion, so no write meets it', async () => {
    // A pair of its own: the one above has failed over already.
    const fresh = await startPairWithTables('writes_rw')
    try {
      const { result, events } = await writeThroughReadOnly(fresh, 'writes_rw', 'read-write')
      for (const f of result.failures) {
        assert.ok(f instanceof AzurePgError && f.code === 'FAILOVER', `${String(f)}`)
        assert.equal((f.cause as { code?: unknown }).code, '57P01', 'only the shutdown ended statements; none met the read-only standby')
      }
      assert.equal(events.length, 1, JSON.stringify(events))
    } finally {
      await fresh.stop()
    }
  })
})
