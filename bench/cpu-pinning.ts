// Keeps the bench's client and its PostgreSQL servers off each other's CPUs. Unpinned on a 2-core machine,
// node and ten busy server processes share both cores as the scheduler pleases: two identical raw pg pools
// measured side by side then differ by up to 15% in one run, which drowns a 3% target. Pinned (node on
// CPU 0, the servers on the rest), the same two pools agree within about 3%. Both contenders run under the
// same pinning, so it changes the noise, not who wins.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { join } from 'node:path'
import type { RunningPostgres } from '../lab/postgres-server.js'

function taskset(args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('taskset', args, { timeout: 5000 }, (err) => (err === null ? resolve() : reject(err)))
  })
}

/**
 * Pins this process (all its threads) to CPU 0 and each server's postmaster (whose backends inherit it)
 * to the other CPUs. Returns how the run is pinned, for the report; never throws: an unpinned run is
 * still a run, and says so.
 */
export async function pinCpus(servers: readonly RunningPostgres[]): Promise<string> {
  const cpus = os.cpus().length
  if (cpus < 2) return 'not pinned (one CPU)'
  const serverCpus = cpus === 2 ? '1' : `1-${cpus - 1}`
  try {
    for (const server of servers) {
      const pid = (await readFile(join(server.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? ''
      if (!/^\d+$/.test(pid)) throw new Error('postmaster.pid has no process id')
      await taskset(['-a', '-p', '-c', serverCpus, pid])
    }
    await taskset(['-a', '-p', '-c', '0', String(process.pid)])
    return `node pinned to CPU 0, PostgreSQL to CPU ${serverCpus} (taskset)`
  } catch (err) {
    return `not pinned (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`
  }
}
