// A pool's checkout time limit with one timer for the whole pool and nothing allocated per checkout.
// pg-pool arms a timer per waiting checkout (and a closure around its callback): measured under load, a
// few percent of the client's CPU per pooled query. Every checkout of a pool has the same limit and
// pg-pool's queue is first in, first out, so deadlines are in queue order: the limit writes a deadline on
// pg-pool's own queue entry, and one timer, set for the oldest, times them all.

/** A checkout as pg-pool queues it (its PendingItem), with the deadline this limit gives it. */
export interface QueuedCheckout {
  callback: (err: Error | undefined, client: undefined, done: () => void) => void
  /** pg-pool's flag: a client that arrives for a timed-out checkout goes back to the pool. */
  timedOut?: boolean
  deadline?: number
}

/** The clock and timer the limit runs on (seams for tests; Node's by default). */
export interface LimitClock {
  now(): number
  setTimer(f: () => void, ms: number): { unref?(): unknown }
}

const nodeClock: LimitClock = {
  now: () => performance.now(),
  setTimer: (f, ms) => setTimeout(f, ms),
}

const NOOP = (): void => undefined

/**
 * Times out the checkouts that wait longer than `limitMs`: in pg-pool's queue (taken off it), and those
 * pg-pool took off the queue to open a new connection for (marked `timedOut`, so that pg-pool gives their
 * client back to the pool when it arrives). The timer is unref'd, as pg-pool's are.
 */
export class CheckoutLimit {
  readonly #limitMs: number
  readonly #queue: () => QueuedCheckout[]
  readonly #timeoutError: () => Error
  readonly #clock: LimitClock
  /** Queued checkouts now waiting for a connection of their own. */
  readonly #connecting = new Set<QueuedCheckout>()
  #armed = false

  constructor(limitMs: number, queue: () => QueuedCheckout[], timeoutError: () => Error, clock: LimitClock = nodeClock) {
    this.#limitMs = limitMs
    this.#queue = queue
    this.#timeoutError = timeoutError
    this.#clock = clock
  }

  /** Starts timing the newest entry of the queue, unless it is timed already (call right after pg-pool queued a checkout). */
  queued(): void {
    const queue = this.#queue()
    const newest = queue[queue.length - 1]
    if (newest === undefined || newest.deadline !== undefined) return
    newest.deadline = this.#clock.now() + this.#limitMs
    if (!this.#armed) this.#arm(this.#limitMs)
  }

  /** A timed checkout left the queue for a new connection of its own: it stays timed until it is answered. */
  connecting(item: QueuedCheckout): void {
    if (item.deadline === undefined) return
    const answer = item.callback
    this.#connecting.add(item)
    item.callback = (err, client, done) => {
      this.#connecting.delete(item)
      answer(err, client, done)
    }
    if (!this.#armed) this.#arm(item.deadline - this.#clock.now())
  }

  #arm(ms: number): void {
    this.#armed = true
    // A timer may fire a fraction of a millisecond early on the performance clock: #fire re-arms then.
    this.#clock.setTimer(() => this.#fire(), Math.max(1, Math.ceil(ms))).unref?.()
  }

  #fire(): void {
    const now = this.#clock.now()
    const due: QueuedCheckout[] = []
    const queue = this.#queue()
    while (queue.length > 0 && (queue[0]?.deadline ?? Number.POSITIVE_INFINITY) <= now) due.push(queue.shift() as QueuedCheckout)
    for (const item of this.#connecting) {
      if ((item.deadline ?? Number.POSITIVE_INFINITY) <= now) {
        this.#connecting.delete(item)
        due.push(item)
      }
    }
    // The oldest timed entry is the next due (one without a deadline, queued behind the limit's back, is skipped).
    let next = queue.find((item) => item.deadline !== undefined)?.deadline ?? Number.POSITIVE_INFINITY
    for (const item of this.#connecting) next = Math.min(next, item.deadline ?? Number.POSITIVE_INFINITY)
    this.#armed = false
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next - now)
    // Answered last, once the limit's own state is whole: a caller's callback may check out again, or
    // throw, which must not leave the others due unanswered (the first such error is rethrown after).
    let thrown: { error: unknown } | undefined
    for (const item of due) {
      item.timedOut = true
      try {
        item.callback(this.#timeoutError(), undefined, NOOP)
      } catch (error) {
        thrown ??= { error }
      }
    }
    if (thrown !== undefined) throw thrown.error
  }
}
