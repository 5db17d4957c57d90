// azure-pg-tls/pg's drop-in Pool through a real failover of the lab's HA pair, with the same workload
// and checks as createAzurePgPool's (test/support/failover-run.ts): an application (or ORM) that uses
// the drop-in gets the same failover handling.
import { describe, it } from 'node:test'
import { Pool } from 'azure-pg-tls/pg'
import { checkRideThrough, poolOptions, pairForTests } from '../support/failover-run.js'

const pair = pairForTests('writes')

describe('azure-pg-tls/pg Pool through a failover', () => {
  it('10 writers: 0 acknowledged writes lost, writes resume, failed statements say FAILOVER, one failover event, nothing left open', async () => {
    const p = pair()
    await checkRideThrough(p, 'writes', () => Promise.resolve(new Pool(poolOptions(p))))
  })
})
