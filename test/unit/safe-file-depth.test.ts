// The depth bound of src/trust/safe-file.ts's `mkdir -p` (makeDirs, makeDirsSync): at most 64 levels are
// walked up, so a path with 65 missing folders is made (the 65th from the top is made without a walk) and
// one with 66 is refused with mkdir's own ENOENT, before any folder of it is made. Counts worked out here
// from the documented limit, not taken from the code.
import assert from 'node:assert/strict'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { makeDirs, makeDirsSync } from '../../src/trust/safe-file.js'
import { tempDirs } from '../support/temp-dir.js'

const newDir = tempDirs('safe-file-depth')

/** `root/d/d/…/d` with `levels` folders below root, none of which exists yet. */
const pathOf = (root: string, levels: number): string => join(root, ...Array.from({ length: levels }, () => 'd'))

for (const [name, make] of [
  ['makeDirs', (dir: string) => makeDirs(dir, 0o700)],
  ['makeDirsSync', async (dir: string) => { makeDirsSync(dir, 0o700) }],
] as const) {
  describe(`${name}: the depth bound`, () => {
    it('makes a path with 65 missing folders', async () => {
      const root = await newDir()
      const deep = pathOf(root, 65)
      await make(deep)
      assert.ok(statSync(deep).isDirectory())
    })

    it('refuses a path with 66 missing folders, and makes none of them', async () => {
      const root = await newDir()
      await assert.rejects(make(pathOf(root, 66)), { code: 'ENOENT' })
      assert.equal(existsSync(join(root, 'd')), false)
    })
  })
}
