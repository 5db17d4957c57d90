// The pure parts of riding through a failover: which failures say the server is gone, the FAILOVER
// error (what happened, "retry the transaction", the original as cause, no secret), the reconnect
// backoff and which connect failures are worth another try.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import pg from 'pg'
import { explainFailover, type ConnectContext } from '../../src/explain.js'
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffDelay, failoverSignalOf, isShutdownNotice, retryableDuringFailover, sqlStateOf } from '../../src/connect/failover.js'
import { AzurePgError } from '../../src/index.js'

const ctx: ConnectContext = {
  host: 'mydemoserver.postgres.database.azure.com', connectHost: 'mydemoserver.postgres.database.azure.com', port: 5432,
  user: 'myadmin', serverType: 'auto', trust: 'Azure roots',
}

/** A server error as pg builds it from the wire, with its severity and SQLSTATE. */
function serverError(message: string, code: string, severity: 'ERROR' | 'FATAL'): pg.DatabaseError {
  const e = new pg.DatabaseError(message, message.length, 'error')
  e.code = code
  e.severity = severity
  return e
}

const lost = (reason: 'reset' | 'closed' | 'timeout'): AzurePgError =>
  new AzurePgError('CONNECTION_FAILED', 'lost', { hint: 'x', reason, phase: 'query' })

const params = (standby: string, readOnly: string): Map<string, string> => new Map([['in_hot_standby', standby], ['default_transaction_read_only', readOnly]])
const PRIMARY = params('off', 'off')

describe('failoverSignalOf', () => {
  it('a FATAL 57P01/57P02/57P03 is the server shutting down; the same SQLSTATE raised as an ERROR is SQL', () => {
    for (const code of ['57P01', '57P02', '57P03']) {
      assert.equal(failoverSignalOf(serverError('terminating connection due to administrator command', code, 'FATAL'), lost('closed'), PRIMARY), 'shutdown', code)
      assert.equal(failoverSignalOf(serverError('raised', code, 'ERROR'), undefined, PRIMARY), undefined, code)
    }
  })

  it('25006 counts only from a server that reports itself a hot standby', () => {
    const readOnly = serverError('cannot execute INSERT in a read-only transaction', '25006', 'ERROR')
    assert.equal(failoverSignalOf(readOnly, undefined, params('on', 'off')), 'read-only')
    assert.equal(failoverSignalOf(readOnly, undefined, params('on', 'on')), 'read-only')
    // default_transaction_read_only on a primary: a session's SET, a read-only role, or a server made read-only
    // on purpose. None is a failover, and a retry elsewhere would run a write the application forbade.
    assert.equal(failoverSignalOf(readOnly, undefined, params('off', 'on')), undefined)
    // SET TRANSACTION READ ONLY on a writable primary: the application's own doing.
    assert.equal(failoverSignalOf(readOnly, undefined, PRIMARY), undefined)
    // A server that reported nothing (before PostgreSQL 14): no evidence either way.
    assert.equal(failoverSignalOf(readOnly, undefined, new Map()), undefined)
  })

  it('a connection lost (reset, closed) is a loss; a query_timeout and other SQL errors are not', () => {
    assert.equal(failoverSignalOf(new Error('Connection terminated unexpectedly'), lost('closed'), PRIMARY), 'lost')
    assert.equal(failoverSignalOf(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), lost('reset'), PRIMARY), 'lost')
    assert.equal(failoverSignalOf(new Error('Query read timeout'), lost('timeout'), PRIMARY), undefined)
    assert.equal(failoverSignalOf(serverError('duplicate key', '23505', 'ERROR'), undefined, PRIMARY), undefined)
  })

  it('a notice says the session is ending only with 57P01 or 57P02', () => {
    assert.deepEqual(['57P01', '57P02', '57P03', '01000', undefined].map((code) => isShutdownNotice({ code, severity: 'WARNING' })), [true, true, false, false, false])
    assert.equal(isShutdownNotice(null), false)
  })

  it('sqlStateOf reads a server error, through causes, and never a Node error code', () => {
    const raw = serverError('x', '57P01', 'FATAL')
    assert.equal(sqlStateOf(raw), '57P01')
    assert.equal(sqlStateOf(new AzurePgError('CONNECTION_FAILED', 'x', { hint: 'x', cause: raw })), '57P01')
    assert.equal(sqlStateOf(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })), undefined)
    assert.equal(sqlStateOf(undefined), undefined)
  })
})

describe('explainFailover', () => {
  it('says what happened and to retry the transaction, keeps the original, names the phase', () => {
    const raw = serverError('terminating connection due to administrator command', '57P01', 'FATAL')
    const e = explainFailover(raw, 'shutdown', ctx)
    assert.equal(e.code, 'FAILOVER')
    assert.equal(e.phase, 'query')
    assert.equal(e.cause, raw)
    assert.match(e.message, /^The server at mydemoserver\.postgres\.database\.azure\.com:5432 is shutting down or restarting/)
    assert.match(e.message, /terminating connection due to administrator command/)
    assert.match(e.message, /retry the transaction\.$/)
    assert.match(e.hint, /idempotent/)
    assert.match(explainFailover(serverError('cannot execute INSERT in a read-only transaction', '25006', 'ERROR'), 'read-only', ctx).message, /refused a write as read-only/)
  })

  it('a server text holding a secret is withheld whole, in the message and the cause', () => {
    const secret = 'S3cret-Pa55word'
    const e = explainFailover(serverError(`terminating connection for ${secret}`, '57P01', 'FATAL'), 'shutdown', ctx, [secret])
    assert.ok(!inspect(e, { depth: 8 }).includes(secret), inspect(e))
    assert.match(e.message, /withheld/)
    assert.equal((e.cause as { code?: string }).code, '57P01')
  })
})

describe('reconnect backoff', () => {
  it('grows from the base to the cap, half fixed and half random, and never past the time left', () => {
    const low = (attempt: number): number | undefined => backoffDelay(attempt, 60_000, () => 0)
    const high = (attempt: number): number | undefined => backoffDelay(attempt, 60_000, () => 1)
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(low), [25, 50, 100, 200, 400, 500, 500])
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map(high), [50, 100, 200, 400, 800, 1000, 1000])
    assert.equal(BACKOFF_BASE_MS, 50)
    assert.equal(BACKOFF_CAP_MS, 1000)
    assert.equal(backoffDelay(1000, 60_000, () => 1), 1000, 'a huge attempt number stays at the cap')
    assert.equal(backoffDelay(3, 300, () => 0), 200)
    assert.equal(backoffDelay(3, 200, () => 0), undefined, 'a wait that would not end before the deadline: no retry')
    assert.equal(backoffDelay(0, 0), undefined)
  })

  it('retries only failures of a server not there yet, or not the kind asked for; never trust or credentials', () => {
    const failed = (reason: 'refused' | 'closed' | 'reset' | 'unreachable' | 'dns' | 'session-attrs' | 'timeout' | 'other'): AzurePgError =>
      new AzurePgError('CONNECTION_FAILED', 'x', { hint: 'x', reason })
    assert.deepEqual((['refused', 'closed', 'reset', 'unreachable', 'dns', 'session-attrs', 'timeout', 'other'] as const).map((r) => retryableDuringFailover(failed(r))),
      [true, true, true, true, true, true, false, false])
    assert.equal(retryableDuringFailover(new AzurePgError('TLS_VERIFY_FAILED', 'x', { hint: 'x', reason: 'unknown-ca' })), false)
    assert.equal(retryableDuringFailover(new AzurePgError('AUTH_FAILED', 'x', { hint: 'x' })), false)
    assert.equal(retryableDuringFailover(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), false)
  })
})
