// Work the trust store does off the connection path: cache writes after a download, and refreshes of the
// cache after a cold start served from the bundled copies. Every task catches its own errors (they are
// warned about, never thrown at a caller), and a test or a command can wait for all of them.

interface Task {
  /** Starts a task still waiting for its timer at once (undefined once started). */
  startNow: (() => void) | undefined
  readonly done: Promise<void>
}

const tasks = new Set<Task>()
const byKey = new Map<string, Promise<void>>()

function track(task: Task, key: string | undefined): void {
  tasks.add(task)
  if (key !== undefined) byKey.set(key, task.done)
  void task.done.finally(() => {
    tasks.delete(task)
    if (key !== undefined && byKey.get(key) === task.done) byKey.delete(key)
  })
}

/** Runs `work` now, without anyone awaiting it. Its file operations keep the process alive until they end. */
export function startNow(work: () => Promise<void>): void {
  track({ startNow: undefined, done: work().catch(() => undefined) }, undefined)
}

/**
 * How long a refresh waits before it starts: past a cold start's first connection, which its module
 * loading, downloads and handshakes would otherwise compete with for the CPU (issue 20).
 */
export const LATER_DELAY_MS = 1000

/**
 * Runs `work` {@link LATER_DELAY_MS} later, from an unref'd timer: a process with nothing else to do exits
 * instead of waiting for it. At most one task per `key` runs at a time; a second is dropped.
 */
export function startLater(key: string, work: () => Promise<void>): void {
  if (byKey.has(key)) return
  let timer: NodeJS.Timeout | undefined
  let run: () => void = () => undefined
  const done = new Promise<void>((resolve) => {
    run = (): void => {
      clearTimeout(timer)
      task.startNow = undefined
      work().catch(() => undefined).finally(resolve)
    }
  })
  const task: Task = { startNow: run, done }
  timer = setTimeout(run, LATER_DELAY_MS)
  timer.unref()
  track(task, key)
}

/** The number of background tasks not yet finished (tests count them). */
export function backgroundTasks(): number {
  return tasks.size
}

/** Waits until every background task, and every task they started, has finished. Tasks still waiting for their timer are started now. */
export async function settleBackgroundWork(): Promise<void> {
  while (tasks.size > 0) {
    for (const t of tasks) t.startNow?.()
    await Promise.all([...tasks].map((t) => t.done))
  }
}
