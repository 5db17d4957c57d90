// One lab certificate mirror for a whole test file, reset after each test: background work finished,
// the root memo cleared, the behaviour back to its start, the request log emptied.
import { after, afterEach, before } from 'node:test'
import { clearRootMemo, settleBackgroundWork } from '../../src/trust/store.js'
import { startMirror, type Mirror, type MirrorOptions } from '../../lab/cert-mirror.js'

/** Starts a mirror before the file's tests and closes it after them; `ref.current` is the mirror. */
export function sharedMirror(options: MirrorOptions = {}): { readonly current: Mirror } {
  const ref = {} as { current: Mirror }
  before(async () => { ref.current = await startMirror(options) })
  after(async () => {
    ref.current.releaseStalled()
    await settleBackgroundWork()
    await ref.current.close()
  })
  afterEach(async () => {
    ref.current.releaseStalled()
    await settleBackgroundWork()
    clearRootMemo()
    // Requests and abandoned responses are counted per test: an earlier test must not satisfy a later one.
    ref.current.reset()
    ref.current.behaviour = options.behaviour ?? 'good'
  })
  return ref
}
