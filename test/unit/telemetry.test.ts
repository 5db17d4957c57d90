// The telemetry seams without a server: a submittable's span-ending callback, the Entra token messages, and
// that a connect tells nothing (and listens to nothing) while no channel has a subscriber.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import { entraTokenSource } from '../../src/auth/entra.js'
import { refusalOf, tellRefusal, traceConnect } from '../../src/connect/connect-telemetry.js'
import { endTracedSubmittable } from '../../src/connect/submittable-end.js'
import { AzurePgError } from '../../src/errors.js'
import { CHANNEL_NAMES, channels, poolName } from '../../src/telemetry/channels.js'
import { FakeCredential, jwt } from '../../lab/fake-credential.js'
import type { AdaptivePlan } from '../../src/connect/adaptive-connect.js'

/** A stand-in for pg's query() as a shimmer-based tracer leaves it. */
const traced = Object.assign(() => undefined, { __wrapped: true })

/** A pg-cursor-like submittable that records how it was driven. */
function cursor(): { submit: () => void; text: string; _result: object; callback?: unknown; handleReadyForQuery: () => string; handleError: (e: unknown) => string } {
  return { submit: () => undefined, text: 'SELECT 1', _result: { rows: [] }, handleReadyForQuery: () => 'ready', handleError: () => 'failed' }
}

describe('endTracedSubmittable', () => {
  it('gives a submittable without a callback one, called once when the query is over (ready, or failed)', () => {
    for (const outcome of ['ready', 'failed'] as const) {
      const s = cursor()
      endTracedSubmittable(s, traced)
      const calls: unknown[][] = []
      // What the tracer does: replace the callback with one that ends its span, then calls the original.
      const original = s.callback as (...a: unknown[]) => void
      s.callback = (...a: unknown[]) => { calls.push(a); original(...a) }
      const err = new Error('boom')
      assert.equal(outcome === 'ready' ? s.handleReadyForQuery() : s.handleError(err), outcome)
      s.handleReadyForQuery()
      assert.equal(calls.length, 1)
      assert.deepEqual(calls[0], outcome === 'ready' ? [null, s._result] : [err, undefined])
    }
  })

  it('does not call it again when the submittable called it itself (pg-query-stream), and takes its cursor\'s text', () => {
    const s = { ...cursor(), text: undefined as unknown as string, cursor: { text: 'SELECT 2' } }
    endTracedSubmittable(s, traced)
    assert.equal(s.text, 'SELECT 2')
    let calls = 0
    const original = s.callback as () => void
    s.callback = () => { calls++; original() }
    ;(s.callback as () => void)()
    s.handleReadyForQuery()
    assert.equal(calls, 1)
  })

  it('leaves alone: plain queries, submittables with a callback, and everything when pg\'s query() is not traced', () => {
    const own = () => undefined
    const withOwn = { ...cursor(), callback: own }
    endTracedSubmittable(withOwn, traced)
    assert.equal(withOwn.callback, own)
    const untraced = cursor()
    endTracedSubmittable(untraced, () => undefined)
    assert.equal(untraced.callback, undefined)
    const config = { text: 'SELECT 1' }
    endTracedSubmittable(config, traced)
    assert.deepEqual(config, { text: 'SELECT 1' })
    const partial = { submit: () => undefined }
    endTracedSubmittable(partial, traced)
    assert.deepEqual(Object.keys(partial), ['submit'])
  })
})

const plan: AdaptivePlan = { negotiation: 'postgres', fallback: true, key: 'k', host: 'h', address: '127.0.0.1', facts: undefined, firstGroup: 'X25519', learnGroup: true }

describe('connect telemetry', () => {
  it('with no subscriber: no trace, no listener on the connection, no message', () => {
    for (const c of Object.values(channels)) assert.equal(c.hasSubscribers, false)
    const con = new EventEmitter()
    assert.equal(traceConnect(con, plan, { host: 'h', port: 5432, database: 'd', channelBinding: false }), undefined)
    assert.deepEqual(con.eventNames(), [])
    tellRefusal(new AzurePgError('AUTH_FAILED', 'x', { hint: 'y' }), 'connect')
  })

  it('with a subscriber: the phases in order, the login method, the end; listeners removed after', () => {
    const seen: unknown[] = []
    const record = (m: unknown): void => { seen.push(m) }
    const names = [CHANNEL_NAMES.connectStart, CHANNEL_NAMES.connectPhase, CHANNEL_NAMES.connectEnd]
    for (const n of names) subscribe(n, record)
    try {
      const con = new EventEmitter()
      const trace = traceConnect(con, plan, { host: 'h', port: 5432, database: 'd', channelBinding: true })
      assert.ok(trace !== undefined)
      con.emit('connect')
      con.emit('authenticationSASL', { mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'] })
      con.emit('authenticationOk')
      trace.end(new AzurePgError('AUTH_FAILED', 'x', { hint: 'y', phase: 'authentication' }))
      trace.end(undefined)
      assert.deepEqual(con.eventNames(), [])
      const phases = seen.filter((m) => (m as { phase?: string }).phase !== undefined && 'startTime' in (m as object) && 'endTime' in (m as object))
      assert.deepEqual(phases.map((m) => [(m as { phase: string }).phase, (m as { authMethod?: string }).authMethod]), [['tcp', undefined], ['authentication', 'SCRAM-SHA-256-PLUS']])
      const end = seen.at(-1) as { error: unknown }
      assert.deepEqual(end.error, { code: 'AUTH_FAILED', phase: 'authentication', reason: undefined })
      for (const [event, method] of [['authenticationMD5Password', 'md5'], ['authenticationCleartextPassword', 'password']] as const) {
        const c = new EventEmitter()
        const t = traceConnect(c, plan, { host: 'h', port: 5432, database: undefined, channelBinding: false })
        c.emit(event, {})
        c.emit('authenticationOk')
        t?.end(new Error('not an AzurePgError'))
        assert.equal((seen.filter((m) => (m as { phase?: string }).phase === 'authentication').at(-1) as { authMethod: string }).authMethod, method)
        assert.deepEqual((seen.at(-1) as { error: unknown }).error, { code: 'CONNECTION_FAILED', phase: undefined, reason: undefined })
      }
    } finally {
      for (const n of names) unsubscribe(n, record)
    }
  })

  it('refusals carry the code, phase and reason only; other errors are not told', () => {
    const seen: unknown[] = []
    const record = (m: unknown): void => { seen.push(m) }
    subscribe(CHANNEL_NAMES.refused, record)
    try {
      tellRefusal(new AzurePgError('INSECURE_TLS', 'secret-free message', { hint: 'h' }), 'configure')
      tellRefusal(new Error('plain'), 'connect')
      assert.deepEqual(seen, [{ code: 'INSECURE_TLS', phase: undefined, reason: undefined, during: 'configure', connectId: undefined }])
      assert.equal(refusalOf('x'), undefined)
    } finally {
      unsubscribe(CHANNEL_NAMES.refused, record)
    }
    assert.equal(poolName(undefined, undefined, undefined), 'unknown_host:unknown_port/unknown_database')
  })
})

describe('Entra token messages', () => {
  it('fetched, then cached, then a failure by code; never the token', async () => {
    const seen: unknown[] = []
    const record = (m: unknown): void => { seen.push(m) }
    subscribe(CHANNEL_NAMES.entraToken, record)
    try {
      const token = jwt({ upn: 'u' })
      const cred = new FakeCredential(() => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }))
      const next = entraTokenSource(cred, 'scope/.default', () => new Date(), 1000)
      assert.equal(await next(), token)
      assert.equal(await next(), token)
      const failing = entraTokenSource(new FakeCredential(() => null), 'scope/.default', () => new Date(), 1000)
      await assert.rejects(failing())
      assert.deepEqual(seen.map((m) => [(m as { cached: boolean }).cached, (m as { ok: boolean }).ok, (m as { code?: string }).code]),
        [[false, true, undefined], [true, true, undefined], [false, false, 'ENTRA_TOKEN_FAILED']])
      assert.ok(!JSON.stringify(seen).includes(token.split('.')[2] ?? '-'))
    } finally {
      unsubscribe(CHANNEL_NAMES.entraToken, record)
    }
  })
})
