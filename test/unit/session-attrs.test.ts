// target_session_attrs as libpq decides it, over the four kinds of server a session can land on, and the
// facts read from what a server reports (ParameterStatus) or answers (the query for servers before 14).
import { strict as assert } from 'node:assert'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import {
  fallbackAttrs, matchesTargetSessionAttrs, needsSessionFacts, querySessionFacts, SESSION_FACTS_SQL, sessionFactsFromParameters,
  watchSessionParameters, type SessionFacts,
} from '../../src/connect/session-attrs.js'
import type { TargetSessionAttrs } from '../../src/options.js'

const PRIMARY: SessionFacts = { inHotStandby: false, defaultReadOnly: false }
const READ_ONLY_PRIMARY: SessionFacts = { inHotStandby: false, defaultReadOnly: true }
const STANDBY: SessionFacts = { inHotStandby: true, defaultReadOnly: false }
const READ_ONLY_STANDBY: SessionFacts = { inHotStandby: true, defaultReadOnly: true }

// Written out from libpq's documentation (libpq-connect, target_session_attrs), one row per value.
const TABLE: ReadonlyArray<[TargetSessionAttrs, [boolean, boolean, boolean, boolean]]> = [
  //                  primary, read-only primary, standby, read-only standby
  ['any', [true, true, true, true]],
  ['read-write', [true, false, false, false]],
  ['read-only', [false, true, true, true]],
  ['primary', [true, true, false, false]],
  ['standby', [false, false, true, true]],
  ['prefer-standby', [false, false, true, true]],
]

describe('matchesTargetSessionAttrs', () => {
  for (const [attrs, expected] of TABLE) {
    it(`${attrs}: primary ${expected[0]}, read-only primary ${expected[1]}, standby ${expected[2]}, read-only standby ${expected[3]}`, () => {
      assert.deepEqual([PRIMARY, READ_ONLY_PRIMARY, STANDBY, READ_ONLY_STANDBY].map((f) => matchesTargetSessionAttrs(attrs, f)), expected)
    })
  }
  it('prefer-standby falls back to any; nothing else falls back; only any needs no facts', () => {
    assert.deepEqual(TABLE.map(([a]) => fallbackAttrs(a)), [undefined, undefined, undefined, undefined, undefined, 'any'])
    assert.deepEqual(TABLE.map(([a]) => needsSessionFacts(a)), [false, true, true, true, true, true])
  })
})

describe('session facts', () => {
  it('from ParameterStatus: both needed, only "on" is on', () => {
    const of = (entries: Array<[string, string]>): SessionFacts | undefined => sessionFactsFromParameters(new Map(entries))
    assert.deepEqual(of([['in_hot_standby', 'on'], ['default_transaction_read_only', 'off']]), STANDBY)
    assert.deepEqual(of([['in_hot_standby', 'off'], ['default_transaction_read_only', 'on']]), READ_ONLY_PRIMARY)
    assert.deepEqual(of([['in_hot_standby', 'ON?'], ['default_transaction_read_only', 'yes']]), PRIMARY)
    assert.equal(of([['in_hot_standby', 'on']]), undefined)
    assert.equal(of([['default_transaction_read_only', 'on']]), undefined)
    assert.equal(of([]), undefined)
  })

  it('watchSessionParameters keeps the latest value of the two that matter, and nothing else', () => {
    const connection = new EventEmitter()
    const parameters = watchSessionParameters(connection)
    connection.emit('parameterStatus', { parameterName: 'in_hot_standby', parameterValue: 'on' })
    connection.emit('parameterStatus', { parameterName: 'default_transaction_read_only', parameterValue: 'off' })
    connection.emit('parameterStatus', { parameterName: 'server_version', parameterValue: '18.4' })
    connection.emit('parameterStatus', { parameterName: 'in_hot_standby', parameterValue: 7 })
    assert.deepEqual(sessionFactsFromParameters(parameters), STANDBY)
    // A promotion: the server reports the change on the open session.
    connection.emit('parameterStatus', { parameterName: 'in_hot_standby', parameterValue: 'off' })
    assert.deepEqual(sessionFactsFromParameters(parameters), PRIMARY)
    assert.deepEqual([...parameters.keys()].sort(), ['default_transaction_read_only', 'in_hot_standby'])
  })

  it('querySessionFacts asks one schema-qualified statement and reads its answer', async () => {
    const asked: string[] = []
    const answering = (row: unknown) => ({ query: async (text: string) => { asked.push(text); return { rows: row === undefined ? [] : [row] } } })
    assert.deepEqual(await querySessionFacts(answering({ standby: true, read_only: 'on' })), READ_ONLY_STANDBY)
    assert.deepEqual(await querySessionFacts(answering({ standby: false, read_only: 'off' })), PRIMARY)
    assert.deepEqual(await querySessionFacts(answering(undefined)), PRIMARY)
    assert.deepEqual(asked, [SESSION_FACTS_SQL, SESSION_FACTS_SQL, SESSION_FACTS_SQL])
    assert.match(SESSION_FACTS_SQL, /pg_catalog\.pg_is_in_recovery\(\).*pg_catalog\.current_setting\('transaction_read_only'\)/)
  })
})
