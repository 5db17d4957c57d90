// createAzurePgPool through a real failover: a PostgreSQL 18 primary with a synchronous hot standby (as
// Azure's HA), a relay standing in for the Azure host name. Ten writers insert unique ids while the
// primary is stopped (fast shutdown: sessions end with 57P01), the standby promoted and the relay (the
// DNS answer) switched; the checks are in test/support/failover-run.ts. Then the lab itself must stop
// without leaving anything behind.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAzurePgPool } from '../../src/index.js'
import type { HaPair } from '../../lab/ha-pair.js'
import { activeCounts, waitUntil } from '../support/handles.js'
import { checkRideThrough, FAILOVER_LIMIT_MS, poolOptions, WATCHED, startPairWithTables } from '../support/failover-run.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(FAILOVER_LIMIT_MS)
/** The lab's own handles too: its server processes. */
const LAB_WATCHED = [...WATCHED, 'ProcessWrap'] as const

let pair: HaPair | undefined
/** The handles before the lab started: the lab must give them all back. */
let beforeLab: Record<(typeof LAB_WATCHED)[number], number>
before(async () => {
  beforeLab = activeCounts(LAB_WATCHED)
  pair = await startPairWithTables('writes')
})
after(async () => {
  await pair?.stop()
})

describe('createAzurePgPool through a failover', () => {
  it('10 writers: 0 acknowledged writes lost, writes resume, failed statements say FAILOVER, one failover event, nothing left open', async () => {
    const p = pair as HaPair
    await checkRideThrough(p, 'writes', () => createAzurePgPool(poolOptions(p)))
  })

  it('the promoted standby is a writable primary, and the old primary is down', async () => {
    const p = pair as HaPair
    const r = await within(p.admin('standby', 'SELECT pg_is_in_recovery() AS standby, count(*)::int AS n FROM writes'), 'the new primary')
    assert.equal(r.rows[0]?.standby, false)
    assert.ok((r.rows[0]?.n as number) >= 600)
    assert.equal(p.primary.running(), false)
  })

  it('stopping the lab ends both servers and the relay, and leaves no handle open', async () => {
    const p = pair as HaPair
    await within(p.stop(), 'stopping the pair')
    assert.deepEqual([p.primary.running(), p.standby.running()], [false, false])
    const above = (): string[] => LAB_WATCHED.filter((k) => activeCounts(LAB_WATCHED)[k] > beforeLab[k])
    await waitUntil(() => above().length === 0, FAILOVER_LIMIT_MS)
    assert.deepEqual(above(), [], process.getActiveResourcesInfo().join(', '))
  })
})
