// The handles (process.getActiveResourcesInfo()) a leaked connection would leave, for tests that check
// nothing stays open: counts by kind, a reading once closing sockets have finished closing, and a wait.

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** How many active resources of each of `kinds` the process holds now. */
export function activeCounts<K extends string>(kinds: readonly K[]): Record<K, number> {
  const all = process.getActiveResourcesInfo()
  return Object.fromEntries(kinds.map((k) => [k, all.filter((r) => r === k).length])) as Record<K, number>
}

/**
 * `read()` once it has stopped changing (two equal readings in a row, 50 ms apart, compared as JSON),
 * e.g. after sockets closed by earlier steps have finished closing; after `limitMs`, the last reading.
 */
export async function settledReading<T>(read: () => T, limitMs: number): Promise<T> {
  const deadline = Date.now() + limitMs
  let last = read()
  while (Date.now() < deadline) {
    await sleep(50)
    const now = read()
    if (JSON.stringify(now) === JSON.stringify(last)) return now
    last = now
  }
  return last
}

/** Checks `done` every 20 ms until it holds or `limitMs` has passed; the caller asserts afterwards. */
export async function waitUntil(done: () => boolean, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!done() && Date.now() < deadline) await sleep(20)
}
