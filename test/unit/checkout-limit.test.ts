// The pool's checkout time limit on one timer, driven by a hand-cranked clock: which waiters time out,
// in what order, and how many timers it takes.
import { strict as assert } from 'node:assert'
import { describe, it } from 'node:test'
import { CheckoutLimit, type LimitClock, type Waiter } from '../../src/connect/checkout-limit.js'

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

interface Named extends Waiter { readonly name: string }

function setUp(limitMs = 100) {
  const clock = handClock()
  const expired: string[] = []
  const limit = new CheckoutLimit<Named>(limitMs, (w) => expired.push(w.name), clock)
  const wait = (name: string): Named => {
    const w: Named = { name, deadline: limit.deadline(), settled: false }
    limit.add(w)
    return w
  }
  return { clock, expired, limit, wait }
}

describe('CheckoutLimit', () => {
  it('times out the waiters not served by their deadline, oldest first, and only those', () => {
    const { clock, expired, limit, wait } = setUp(100)
    const a = wait('a')
    clock.advance(30)
    wait('b')
    clock.advance(30)
    const c = wait('c')
    limit.settle(a)
    clock.advance(39) // t = 99: nobody is due yet
    assert.deepEqual(expired, [])
    clock.advance(1) // t = 100: a was served, so nothing
    assert.deepEqual(expired, [])
    clock.advance(30) // t = 130: b is due
    assert.deepEqual(expired, ['b'])
    limit.settle(c)
    clock.advance(1000)
    assert.deepEqual(expired, ['b'])
    assert.equal(limit.size, 0)
  })

  it('runs on one timer at a time, however many wait', () => {
    const { clock, expired, wait } = setUp(100)
    for (let i = 0; i < 500; i++) wait(`w${i}`)
    assert.equal(clock.armed(), 1)
    clock.advance(100)
    assert.equal(expired.length, 500)
    assert.deepEqual(expired.slice(0, 3), ['w0', 'w1', 'w2'])
    assert.equal(clock.pending(), 0, 'nothing is armed once nobody waits')
  })

  it('a waiter added by an expire callback does not arm a second timer, and still times out', () => {
    const clock = handClock()
    const expired: string[] = []
    const limit: CheckoutLimit<Named> = new CheckoutLimit<Named>(100, (w) => {
      expired.push(w.name)
      if (w.name === 'first') limit.add({ name: 'retry', deadline: limit.deadline(), settled: false })
    }, clock)
    limit.add({ name: 'first', deadline: limit.deadline(), settled: false })
    clock.advance(100)
    assert.equal(clock.pending(), 1)
    clock.advance(100)
    assert.deepEqual(expired, ['first', 'retry'])
  })

  it('keeps timing the waiters behind an expire callback that threw', () => {
    const clock = handClock()
    const expired: string[] = []
    const limit = new CheckoutLimit<Named>(100, (w) => {
      expired.push(w.name)
      if (w.name === 'a') throw new Error('a caller threw')
    }, clock)
    limit.add({ name: 'a', deadline: limit.deadline(), settled: false })
    clock.advance(10)
    limit.add({ name: 'b', deadline: limit.deadline(), settled: false })
    assert.throws(() => clock.advance(95), /a caller threw/)
    clock.advance(100)
    assert.deepEqual(expired, ['a', 'b'])
  })

  it('a timer that fires early re-arms for the rest instead of timing out early', () => {
    const clock = handClock()
    const expired: string[] = []
    let early = true
    const limit = new CheckoutLimit<Named>(100, (w) => expired.push(w.name), {
      ...clock,
      // The first timer fires 2 ms before its time, as a timer may on another clock.
      setTimer: (f, ms) => clock.setTimer(f, early ? ((early = false), ms - 2) : ms),
    })
    limit.add({ name: 'a', deadline: limit.deadline(), settled: false })
    clock.advance(98)
    assert.deepEqual(expired, [])
    clock.advance(2)
    assert.deepEqual(expired, ['a'])
  })

  it('stays small when thousands are served in order (it compacts what it dropped)', () => {
    const { clock, expired, limit, wait } = setUp(1000)
    const served: Named[] = []
    for (let i = 0; i < 5000; i++) {
      served.push(wait(`s${i}`))
      // Served with a lag of 3: the front is settled in batches, as a pool hands out clients.
      if (i >= 3) limit.settle(served[i - 3] as Named)
    }
    assert.equal(limit.size, 3, 'only the three not yet served are still timed')
    const late = wait('late')
    clock.advance(1000)
    assert.deepEqual(expired, ['s4997', 's4998', 's4999', 'late'])
    assert.equal(late.settled, true)
  })
})
