// A pool's checkout time limit with one timer for the whole pool. pg-pool arms a timer per waiting
// checkout, which under load costs more than the SELECT the caller waits for. Every waiter of a pool
// has the same limit, so deadlines come in arrival order: one timer, set for the oldest waiter, serves
// them all, and a waiter served in time costs an object and a flag.

/** One waiting checkout. */
export interface Waiter {
  /** When it times out, on the clock the limit was given. */
  readonly deadline: number
  /** Served or timed out: nothing more happens to it. */
  settled: boolean
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

/** Stands for the timer while it runs, so that a waiter added by an expire callback does not arm a second one. */
const FIRING = Symbol('firing')

/** Waiters dropped from the front before the array is compacted. */
const COMPACT_AFTER = 1024

/**
 * Times out waiters that are not settled by their deadline, oldest first, calling `expire` for each.
 * The timer is unref'd, as pg-pool's are: a waiting checkout does not keep the process alive.
 */
export class CheckoutLimit<W extends Waiter> {
  readonly #queue: W[] = []
  #head = 0
  #timer: unknown
  readonly #limitMs: number
  readonly #expire: (waiter: W) => void
  readonly #clock: LimitClock

  constructor(limitMs: number, expire: (waiter: W) => void, clock: LimitClock = nodeClock) {
    this.#limitMs = limitMs
    this.#expire = expire
    this.#clock = clock
  }

  /** The deadline of a checkout that starts now. */
  deadline(): number {
    return this.#clock.now() + this.#limitMs
  }

  /** Starts timing a waiter (made with {@link CheckoutLimit.deadline}). */
  add(waiter: W): void {
    this.#queue.push(waiter)
    if (this.#timer === undefined) this.#arm(waiter.deadline - this.#clock.now())
  }

  /** The waiter was served: it will not time out. */
  settle(waiter: W): void {
    waiter.settled = true
    this.#dropSettled()
  }

  /** Waiters still timed (for tests and diagnostics). */
  get size(): number {
    return this.#queue.length - this.#head
  }

  #dropSettled(): void {
    const queue = this.#queue
    while (this.#head < queue.length && queue[this.#head]?.settled === true) this.#head++
    if (this.#head === queue.length) {
      queue.length = 0
      this.#head = 0
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= queue.length) {
      queue.splice(0, this.#head)
      this.#head = 0
    }
  }

  #arm(ms: number): void {
    // A timer may fire a fraction of a millisecond early on the performance clock: #fire re-arms then.
    const timer = this.#clock.setTimer(() => this.#fire(), Math.max(1, Math.ceil(ms)))
    timer.unref?.()
    this.#timer = timer
  }

  #fire(): void {
    this.#timer = FIRING
    try {
      const now = this.#clock.now()
      this.#dropSettled()
      while (this.#head < this.#queue.length) {
        const waiter = this.#queue[this.#head] as W
        if (waiter.deadline > now) break
        waiter.settled = true
        this.#head++
        this.#expire(waiter)
        this.#dropSettled()
      }
    } finally {
      // Also after an expire callback threw: the waiters behind it still time out.
      this.#timer = undefined
      const next = this.#queue[this.#head]
      if (next !== undefined) this.#arm(next.deadline - this.#clock.now())
    }
  }
}
