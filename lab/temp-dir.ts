// Temporary folders of the lab and the tests, all named azure-pg-tls-<run>-<what>-XXXXXX in os.tmpdir().
// <run> comes from AZURE_PG_TLS_LAB_RUN, which lab/check-leftovers.mjs sets for one `npm test`, so it can
// tell this run's folders from those of another run on the same machine. Folders still here when the
// process exits (a test that crashed before its cleanup) are removed then.
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The run this process belongs to ('' outside `npm test`). */
export const RUN_TAG = process.env['AZURE_PG_TLS_LAB_RUN'] ?? ''

const made = new Set<string>()
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true })
})

/** The mkdtemp prefix for a folder of kind `what` (a short word: lab, data, template, trust...). */
export function tempPrefix(what: string): string {
  return join(tmpdir(), `azure-pg-tls-${RUN_TAG === '' ? '' : `${RUN_TAG}-`}${what}-`)
}

/** A new empty folder, removed by {@link removeTempDir} or, failing that, when the process exits. */
export async function makeTempDir(what: string): Promise<string> {
  const dir = await mkdtemp(tempPrefix(what))
  made.add(dir)
  return dir
}

/** Removes a folder made by {@link makeTempDir} and everything in it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  made.delete(dir)
}
