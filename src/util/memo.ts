/**
 * Promises shared by key: the first caller starts the work, concurrent and later callers get the
 * same promise. A rejected promise is forgotten, so the next call tries again: a failed download
 * or a missing optional package must not be remembered for the life of the process.
 */
export class PromiseMemo<K, V> {
  readonly #entries = new Map<K, Promise<V>>()

  /** The promise for `key`, started with `make` if there is none (or the last one failed). */
  get(key: K, make: () => Promise<V>): Promise<V> {
    let p = this.#entries.get(key)
    if (p === undefined) {
      p = make()
      const stored = p
      p.catch(() => { if (this.#entries.get(key) === stored) this.#entries.delete(key) })
      this.#entries.set(key, p)
    }
    return p
  }

  /** Forgets every entry. */
  clear(): void {
    this.#entries.clear()
  }
}
