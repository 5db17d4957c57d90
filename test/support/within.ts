// A time limit for the waits of a test file, so a stuck wait fails its test with a message instead of
// running into the test runner's timeout.

/** Returns `within(promise, what)`: the promise, or a rejection naming `what` if it has not settled within `limitMs`. */
export function timeLimit(limitMs: number): <T>(p: Promise<T>, what: string) => Promise<T> {
  return <T>(p: Promise<T>, what: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined
    return Promise.race([
      p.finally(() => clearTimeout(timer)),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing within ${limitMs} ms`)), limitMs) }),
    ])
  }
}
