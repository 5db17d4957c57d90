// What the SDK learns about each server (host, address and port) from its own verified connections:
// whether direct TLS works, and which key-share group it picks. Kept in memory, and for a day in a
// small file in the certificate cache folder, so cold starts (serverless, containers) benefit too.
// A fact can only choose between two verified ways in (direct TLS or the SSLRequest; one group order
// or another): a tampered file cannot weaken a connection, at worst it costs a round trip.
// The file is a hint, so it is written without fsync (a torn or empty file after a crash reads as empty),
// and what a process learned is saved even when it ends itself right after its work (process.exit() in a
// serverless handler or a script): an 'exit' handler writes what the background write did not get to.
import { join } from 'node:path'
import type { LearnMode } from '../options.js'
import { readSmallFile, writeFileAtomic, writeFileAtomicSync } from '../trust/safe-file.js'
import { PromiseMemo } from '../util/memo.js'

/** What is known of one server. */
export interface ServerFacts {
  /** Direct TLS works (`true`: the server reported 17+ or a direct handshake succeeded), or was refused (`false`). */
  readonly direct?: boolean
  /** The key-share group the server chose when it was not the first one offered (`P-256`, …). */
  readonly group?: string
  /** When this was learned (ms since the epoch); facts older than {@link FACTS_TTL_MS} are forgotten. */
  readonly at: number
}

/** How long a learned fact is trusted. */
export const FACTS_TTL_MS = 24 * 60 * 60 * 1000

/** Groups a fact may name: the ones Node offers by default (a file naming anything else is ignored). */
export const DEFAULT_GROUPS: readonly string[] = ['X25519', 'P-256', 'X448', 'P-521', 'P-384']

const FILE = 'learned-servers.json'
const MAX_FILE_BYTES = 64 * 1024
const MAX_ENTRIES = 512

function valid(v: unknown, now: number): v is ServerFacts {
  if (typeof v !== 'object' || v === null) return false
  const f = v as Record<string, unknown>
  return typeof f['at'] === 'number' && f['at'] <= now && now - f['at'] < FACTS_TTL_MS &&
    (f['direct'] === undefined || typeof f['direct'] === 'boolean') &&
    (f['group'] === undefined || (typeof f['group'] === 'string' && DEFAULT_GROUPS.includes(f['group'])))
}

/** Reads the facts file: a regular file only (never blocks on a FIFO), at most 64 KiB; anything odd reads as empty. */
async function readFacts(dir: string, now: number): Promise<Map<string, ServerFacts>> {
  const out = new Map<string, ServerFacts>()
  const read = await readSmallFile(join(dir, FILE), MAX_FILE_BYTES)
  if (read.kind !== 'ok') return out
  try {
    const data = JSON.parse(read.data.toString('utf8')) as { version?: unknown; servers?: unknown } | null
    if (data?.version !== 1 || typeof data.servers !== 'object' || data.servers === null) return out
    for (const [key, facts] of Object.entries(data.servers).slice(0, MAX_ENTRIES)) if (valid(facts, now)) out.set(key, facts)
  } catch {
    // Corrupt: nothing learned yet.
  }
  return out
}

function factsText(facts: ReadonlyMap<string, ServerFacts>): string {
  return JSON.stringify({ version: 1, servers: Object.fromEntries([...facts].slice(-MAX_ENTRIES)) })
}

/** Stores holding facts not yet on disk: the 'exit' handler saves them. */
const unsaved = new Set<LearnedFacts>()
let exitHooked = false

function saveOnExit(store: LearnedFacts): void {
  unsaved.add(store)
  if (exitHooked) return
  exitHooked = true
  process.once('exit', () => {
    for (const s of unsaved) s.saveNow()
  })
}

/** The facts of one process for one cache folder (or for memory only). */
export class LearnedFacts {
  readonly #facts: Map<string, ServerFacts>
  readonly #dir: string | undefined
  readonly #now: () => number
  #writing: Promise<void> = Promise.resolve()
  /** Changes recorded, and how many of them are on disk. */
  #changes = 0
  #saved = 0

  constructor(facts: Map<string, ServerFacts>, dir: string | undefined, now: () => number) {
    this.#facts = facts
    this.#dir = dir
    this.#now = now
  }

  /** What is known of a server, if it is still fresh. */
  get(key: string): ServerFacts | undefined {
    const f = this.#facts.get(key)
    if (f === undefined) return undefined
    if (this.#now() - f.at >= FACTS_TTL_MS) {
      this.#facts.delete(key)
      return undefined
    }
    return f
  }

  /** Records a fact (merged with what is known), and saves it off the connection path. */
  record(key: string, fact: { direct?: boolean; group?: string }): void {
    const before = this.get(key)
    // A refusal of direct TLS outranks a version report: PgBouncer reports its backend's version but does not speak it.
    const direct = before?.direct === false && fact.direct === true ? false : fact.direct ?? before?.direct
    const group = fact.group ?? before?.group
    if (before !== undefined && before.direct === direct && before.group === group) return
    this.#facts.set(key, { ...(direct !== undefined && { direct }), ...(group !== undefined && { group }), at: this.#now() })
    const dir = this.#dir
    if (dir === undefined) return
    this.#changes++
    saveOnExit(this)
    // One write at a time, in the background; a failure only means the next process learns again.
    this.#writing = this.#writing.then(async () => {
      const upTo = this.#changes
      if (this.#saved >= upTo) return
      await writeFileAtomic(dir, FILE, factsText(this.#facts), { durable: false })
      this.#markSaved(upTo)
    }).catch(() => {})
  }

  #markSaved(upTo: number): void {
    this.#saved = Math.max(this.#saved, upTo)
    if (this.#saved >= this.#changes) unsaved.delete(this)
  }

  /** Writes unsaved facts synchronously (the process is exiting, so the background write will not finish). Never throws. */
  saveNow(): void {
    const dir = this.#dir
    if (dir === undefined || this.#saved >= this.#changes) return
    try {
      writeFileAtomicSync(dir, FILE, factsText(this.#facts), { durable: false })
      this.#markSaved(this.#changes)
    } catch {
      // The next process learns again.
    }
  }

  /** Resolves once pending writes are done (for tests and orderly shutdown). */
  flushed(): Promise<void> {
    return this.#writing
  }
}

const stores = new PromiseMemo<string, LearnedFacts>()
const memoryOnly = new LearnedFacts(new Map(), undefined, () => Date.now())

/** The facts store for a mode and cache folder: read from disk once per process and folder. */
export function learnedFacts(mode: LearnMode, cacheDir: string, now: () => Date): Promise<LearnedFacts | undefined> {
  if (mode === 'off') return Promise.resolve(undefined)
  if (mode === 'memory') return Promise.resolve(memoryOnly)
  return stores.get(cacheDir, async () => new LearnedFacts(await readFacts(cacheDir, now().getTime()), cacheDir, () => now().getTime()))
}

/** Forgets every store held in memory (for tests that start from nothing). */
export function forgetLearnedFacts(): void {
  stores.clear()
}
