// A wait for a condition the lab can only poll (a server's catalog, a process's state), always with a limit.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 50 ms until it resolves true; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline) throw new Error(`${what}: not after ${timeoutMs} ms${last === undefined ? '' : ` (last error: ${String(last)})`}`)
    await sleep(50)
  }
}
