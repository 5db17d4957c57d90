// What some tests need from the machine, checked up front so that a missing piece fails with a
// message saying what to install or remove, instead of a puzzling assertion.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The tests of ENTRA_UNAVAILABLE need @azure/identity NOT to be installed. */
export function assertAzureIdentityAbsent(): void {
  let found: string | undefined
  try {
    found = createRequire(import.meta.url).resolve('@azure/identity')
  } catch {
    return
  }
  assert.fail(`this test needs @azure/identity to be absent (it checks ENTRA_UNAVAILABLE), but it is installed at ${found}; run \`npm uninstall @azure/identity\` (it is an optional peer dependency, not a dev dependency)`)
}

/** The libpq cross-check needs Debian's psql (package postgresql-client; `npm test` installs it as root, lab/provision.ts). */
export async function assertPsqlPresent(): Promise<void> {
  try {
    await run('psql', ['--version'], { timeout: 10_000 })
  } catch (err) {
    assert.fail(`this test needs psql (libpq) on PATH: install it (Debian: sudo apt-get install -y postgresql-client; \`npm test\` does so when run as root): ${(err as Error).message}`)
  }
}
