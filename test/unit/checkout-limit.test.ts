// The pool's checkout time limit on one timer, driven by a hand-cranked clock over a plain array standing
// for pg-pool's queue: which checkouts time out, in what order, and how many timers it takes.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { CheckoutLimit, type LimitClock, type QueuedCheckout } from '../../src/connect/checkout-limit.js'

/** A clock whose time moves only when the test says so; timers fire in due order. */
function handClock(): LimitClock & { advance(ms: number): void; armed(): number; pending(): number } {
  let now = 0
  let armed = 0
  const timers: Array<{ at: number; f: () => void; fired: boolean }> = []
  return {
    now: () => now,
    setTimer(f, ms) {
      armed++
      timers.push({ at: now + ms, f, fired: false })
      return { unref: () => undefined }
    },
    advance(ms) {
      const end = now + ms
      for (;;) {
        const next = timers.filter((t) => !t.fired && t.at <= end).sort((a, b) => a.at - b.at)[0]
        if (next === undefined) break
        now = next.at
        next.fired = true
        next.f()
      }
      now = end
    },
    armed: () => armed,
    pending: () => timers.filter((t) => !t.fired).length,
  }
}

interface Entry extends QueuedCheckout { readonly name: string }

function setUp(limitMs = 100) {
  const clock = handClock()
  const queue: Entry[] = []
  const answers: Array<[string, string]> = []
  const limit = new CheckoutLimit(limitMs, () => queue, () => new Error('timed out'), clock)
  const entry = (name: string): Entry => ({ name, callback: (err) => answers.push([name, err?.message ?? 'client']) })
  /** As pg-pool's connect: the entry joins the queue, then the limit is told. */
  const wait = (name: string): Entry => {
    const e = entry(name)
    queue.push(e)
    limit.queued()
    return e
  }
  /** As pg-pool's pulse: the oldest entry is served from the queue. */
  const serve = (): void => {
    const e = queue.shift()
    e?.callback(undefined, undefined, () => undefined)
  }
  return { clock, queue, answers, limit, wait, serve, entry }
}

describe('CheckoutLimit', () => {
  it('times out the checkouts still queued at their deadline, oldest first, and takes them off the queue', () => {
    const { clock, queue, answers, wait, serve } = setUp(100)
    wait('a')
    clock.advance(30)
    wait('b')
    clock.advance(30)
    wait('c')
    serve() // a gets a client
    clock.advance(39) // t = 99: nobody is due yet
    assert.deepEqual(answers, [['a', 'client']])
    clock.advance(31) // t = 130: b is due
    assert.deepEqual(answers, [['a', 'client'], ['b', 'timed out']])
    assert.deepEqual(queue.map((e) => e.name), ['c'])
    assert.equal(queue[0]?.timedOut, undefined, 'c still waits')
    serve()
    clock.advance(1000)
    assert.deepEqual(answers.map(([n, a]) => `${n}:${a}`), ['a:client', 'b:timed out', 'c:client'])
  })

  it('runs on one timer at a time, however many wait, and stops when nobody does', () => {
    const { clock, answers, wait } = setUp(100)
    for (let i = 0; i < 500; i++) wait(`w${i}`)
    assert.equal(clock.armed(), 1)
    clock.advance(100)
    assert.equal(answers.length, 500)
    assert.deepEqual(answers.slice(0, 3).map(([n]) => n), ['w0', 'w1', 'w2'])
    assert.equal(clock.pending(), 0)
  })

  it('gives a deadline once: a queue entry already timed is not restarted', () => {
    const { clock, queue, answers, limit, wait } = setUp(100)
    wait('a')
    clock.advance(60)
    limit.queued() // nothing new was queued (pg-pool opened a connection instead)
    assert.equal(queue[0]?.deadline, 100)
    clock.advance(40)
    assert.deepEqual(answers, [['a', 'timed out']])
  })

  it('keeps timing a queued checkout that left the queue for a new connection; its late client is pg-pool\'s to keep', () => {
    const { clock, queue, answers, limit, wait } = setUp(100)
    wait('a')
    clock.advance(50)
    // pg-pool's pulse: the entry leaves the queue for newClient, which is told.
    const a = queue.shift() as Entry
    limit.connecting(a)
    clock.advance(50)
    assert.deepEqual(answers, [['a', 'timed out']])
    assert.equal(a.timedOut, true, 'pg-pool returns a client that connects now to the pool')
  })

  it('a checkout answered by its new connection in time is not timed out afterwards', () => {
    const { clock, queue, answers, limit, wait } = setUp(100)
    wait('a')
    const a = queue.shift() as Entry
    limit.connecting(a)
    clock.advance(40)
    a.callback(undefined, undefined, () => undefined)
    clock.advance(1000)
    assert.deepEqual(answers, [['a', 'client']])
  })

  it('does not time a checkout that opens its own connection without having waited (its connect limit bounds it)', () => {
    const { clock, answers, limit, entry } = setUp(100)
    const fresh = entry('fresh')
    limit.connecting(fresh)
    clock.advance(1000)
    assert.deepEqual(answers, [])
    assert.equal(clock.armed(), 0)
  })

  it('a caller that checks out again from its timeout callback is timed in turn, on one timer', () => {
    const { clock, queue, answers, limit } = setUp(100)
    const again: Entry = { name: 'again', callback: (err) => answers.push(['again', err?.message ?? 'client']) }
    queue.push({ name: 'first', callback: (err) => { answers.push(['first', err?.message ?? 'client']); queue.push(again); limit.queued() } })
    limit.queued()
    clock.advance(100)
    assert.equal(clock.pending(), 1)
    clock.advance(100)
    assert.deepEqual(answers, [['first', 'timed out'], ['again', 'timed out']])
  })

  it('answers every checkout due with a callback that threw, and keeps timing the rest', () => {
    const { clock, queue, answers, limit, wait } = setUp(100)
    queue.push({ name: 'thrower', callback: () => { answers.push(['thrower', 'threw']); throw new Error('a caller threw') } })
    limit.queued()
    wait('same-time')
    clock.advance(10)
    wait('b')
    assert.throws(() => clock.advance(95), /a caller threw/)
    assert.deepEqual(answers, [['thrower', 'threw'], ['same-time', 'timed out']], 'the one due with it is answered too')
    clock.advance(100)
    assert.deepEqual(answers, [['thrower', 'threw'], ['same-time', 'timed out'], ['b', 'timed out']])
  })

  it('a timer that fires early re-arms for the rest instead of timing out early', () => {
    const clock = handClock()
    const queue: Entry[] = []
    const answers: string[] = []
    let early = true
    const limit = new CheckoutLimit(100, () => queue, () => new Error('timed out'), {
      ...clock,
      // The first timer fires 2 ms before its time, as a timer may on another clock.
      setTimer: (f, ms) => clock.setTimer(f, early ? ((early = false), ms - 2) : ms),
    })
    queue.push({ name: 'a', callback: (err) => answers.push(err?.message ?? 'client') })
    limit.queued()
    clock.advance(98)
    assert.deepEqual(answers, [])
    clock.advance(2)
    assert.deepEqual(answers, ['timed out'])
  })
})
