// One bounded wait for every place that waits on something it does not control (a file system, a
// socket, a resolver): the work's outcome, or an ETIMEDOUT error after the limit.

/** How a timed-out wait ends. */
export interface TimeLimitOptions {
  /** Called when the limit is reached, before the rejection (to destroy a socket, say). */
  readonly onTimeout?: () => void
  /** Unref the timer, so that a bounded wait never keeps the process alive by itself. */
  readonly unref?: boolean
}

/**
 * Settles with `work`, or rejects with an `ETIMEDOUT` error carrying `message` after `ms`. (Work already
 * handed to the OS may still finish later.)
 */
export function withTimeLimit<T>(work: Promise<T>, ms: number, message: string, { onTimeout, unref = false }: TimeLimitOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.()
      reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' }))
    }, ms)
    if (unref) timer.unref()
    work.then(
      (v) => { clearTimeout(timer); resolve(v) },
      (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))) },
    )
  })
}

/**
 * A configured time limit where one is set (a finite number above 0), else `fallback`: for the waits that
 * must end even when the user's limit is 0 ("none"), as a token wait or a cancel request's connection.
 */
export function limitOrDefault(ms: unknown, fallback: number): number {
  const limit = Number(ms)
  return Number.isFinite(limit) && limit > 0 ? limit : fallback
}
