// Work the trust store does off the connection path: cache writes after a download, and refreshes of the
// cache after a cold start served from the bundled copies. Every task catches its own errors (they are
// warned about, never thrown at a caller), and a test or a command can wait for all of them.

interface Task {
  readonly timer: NodeJS.Timeout | undefined
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
  track({ timer: undefined, done: work().catch(() => undefined) }, undefined)
}

/**
 * Runs `work` on a later turn of the event loop, from an unref'd timer: a process with nothing else to do
 * exits instead of waiting for it. At most one task per `key` runs at a time; a second is dropped.
 */
export function startLater(key: string, work: () => Promise<void>): void {
  if (byKey.has(key)) return
  let timer: NodeJS.Timeout | undefined
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(() => { work().catch(() => undefined).finally(resolve) }, 0)
    timer.unref()
  })
  track({ timer, done }, key)
}

/** The number of background tasks not yet finished (tests count them). */
export function backgroundTasks(): number {
  return tasks.size
}

/**
 * Waits until every background task, and every task they started, has finished. Tasks still waiting for
 * their timer are started now (their timers are ref'd, so the wait itself keeps the process alive).
 */
export async function settleBackgroundWork(): Promise<void> {
  while (tasks.size > 0) {
    for (const t of tasks) t.timer?.ref()
    await Promise.all([...tasks].map((t) => t.done))
  }
}
