// The host loop's pure decisions: the order of attempts (libpq's: as given, or a Fisher–Yates shuffle per
// connect; prefer-standby's two passes), when the loop is needed, a pool's checkout limit over a list, and
// the judgement of a session against target_session_attrs from what the server reported, or the query
// libpq sends when the reports do not settle it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkoutLimitMs, hostAttempts, needsHostLoop } from '../../src/connect/host-order.js'
import { judgeSession, reportedFlag, type SessionVerdict } from '../../src/connect/session-check.js'
import { READ_ONLY_QUERY, RECOVERY_QUERY } from '../support/session.js'

const order = (attempts: ReturnType<typeof hostAttempts>): string[] => attempts.map((a) => `${a.index}:${a.want}`)

describe('hostAttempts', () => {
  it('tries the hosts in the order given, each for what target_session_attrs asks', () => {
    assert.deepEqual(order(hostAttempts(3, 'read-write', 'disable')), ['0:read-write', '1:read-write', '2:read-write'])
    assert.deepEqual(order(hostAttempts(1, 'any', 'disable')), ['0:any'])
  })

  it('prefer-standby goes over the list twice: standbys only, then any', () => {
    assert.deepEqual(order(hostAttempts(2, 'prefer-standby', 'disable')), ['0:standby', '1:standby', '0:any', '1:any'])
  })

  it('random: a Fisher–Yates shuffle with the picks given, the same order in both passes', () => {
    // Picks from the last position down: swap 2 with 0, then 1 with 1 (stays): [2, 1, 0].
    const picks = [0, 1]
    assert.deepEqual(order(hostAttempts(3, 'prefer-standby', 'random', () => picks.shift() ?? 0)), ['2:standby', '1:standby', '0:standby', '2:any', '1:any', '0:any'])
  })

  it('random with crypto randomness: every order of three hosts comes up, and each is a permutation', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 300; i++) {
      const o = hostAttempts(3, 'any', 'random').map((a) => a.index)
      assert.deepEqual([...o].sort(), [0, 1, 2])
      seen.add(o.join(''))
    }
    assert.equal(seen.size, 6)
  })
})

describe('needsHostLoop and checkoutLimitMs', () => {
  it('the loop runs for several hosts or a session to check, not for one host with any', () => {
    assert.equal(needsHostLoop(1, 'any'), false)
    assert.equal(needsHostLoop(2, 'any'), true)
    assert.equal(needsHostLoop(1, 'standby'), true)
  })

  it('a pool waits the connect limit for each attempt of one connect', () => {
    assert.equal(checkoutLimitMs(10_000, 1, 'any'), 10_000)
    assert.equal(checkoutLimitMs(10_000, 3, 'read-write'), 30_000)
    assert.equal(checkoutLimitMs(10_000, 2, 'prefer-standby'), 40_000)
    assert.equal(checkoutLimitMs(0, 3, 'any'), 0)
  })
})

/** The verdict in a comparable form; an `ask` is answered with `value`. */
function verdict(v: SessionVerdict, value?: string | null): string {
  if (v.kind === 'ask') return value === undefined ? `ask ${v.sql}` : `after ${v.sql}: ${verdict(v.judge(value))}`
  return v.kind === 'accept' ? 'accept' : `reject: ${v.why}`
}

describe('judgeSession (libpq\'s CONNECTION_CHECK_TARGET)', () => {
  const primary = { inHotStandby: false, defaultReadOnly: false }
  const standby = { inHotStandby: true, defaultReadOnly: false }
  const readOnlyPrimary = { inHotStandby: false, defaultReadOnly: true }

  it('decides from the reports when they settle it', () => {
    assert.equal(verdict(judgeSession('any', {})), 'accept')
    assert.equal(verdict(judgeSession('read-write', primary)), 'accept')
    assert.equal(verdict(judgeSession('read-write', standby)), 'reject: is read-only')
    assert.equal(verdict(judgeSession('read-write', readOnlyPrimary)), 'reject: is read-only')
    assert.equal(verdict(judgeSession('read-only', primary)), 'reject: is not read-only')
    assert.equal(verdict(judgeSession('read-only', readOnlyPrimary)), 'accept')
    assert.equal(verdict(judgeSession('primary', readOnlyPrimary)), 'accept')
    assert.equal(verdict(judgeSession('primary', standby)), 'reject: is in hot standby')
    assert.equal(verdict(judgeSession('standby', primary)), 'reject: is not in hot standby')
    assert.equal(verdict(judgeSession('standby', standby)), 'accept')
  })

  it('asks as libpq asks when a report is missing: both are needed for read-write/read-only, in_hot_standby for primary/standby', () => {
    assert.equal(verdict(judgeSession('read-write', { inHotStandby: false })), `ask ${READ_ONLY_QUERY}`)
    assert.equal(verdict(judgeSession('read-only', {})), `ask ${READ_ONLY_QUERY}`)
    assert.equal(verdict(judgeSession('primary', { defaultReadOnly: false })), `ask ${RECOVERY_QUERY}`)
    // primary/standby do not need default_transaction_read_only.
    assert.equal(verdict(judgeSession('standby', { inHotStandby: true })), 'accept')
  })

  it('judges the answer as libpq reads it, and moves on when there is none', () => {
    assert.equal(verdict(judgeSession('read-write', {}), 'off'), `after ${READ_ONLY_QUERY}: accept`)
    assert.equal(verdict(judgeSession('read-write', {}), 'on'), `after ${READ_ONLY_QUERY}: reject: is read-only`)
    assert.equal(verdict(judgeSession('read-only', {}), 'on'), `after ${READ_ONLY_QUERY}: accept`)
    assert.equal(verdict(judgeSession('primary', {}), 'f'), `after ${RECOVERY_QUERY}: accept`)
    assert.equal(verdict(judgeSession('standby', {}), 'f'), `after ${RECOVERY_QUERY}: reject: is not in hot standby`)
    assert.equal(verdict(judgeSession('standby', {}), 't'), `after ${RECOVERY_QUERY}: accept`)
    assert.equal(verdict(judgeSession('standby', {}), null), `after ${RECOVERY_QUERY}: reject: did not answer "${RECOVERY_QUERY}"`)
  })

  it('reads a ParameterStatus flag as on or off only', () => {
    assert.deepEqual(['on', 'off', 'true', undefined].map(reportedFlag), [true, false, undefined, undefined])
  })
})
