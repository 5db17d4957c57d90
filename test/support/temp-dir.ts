// Temporary folders for one test file: made through the lab (named for lab/check-leftovers.mjs) and
// all removed after the file's last test, whether its tests passed or failed.
import { after } from 'node:test'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'

/** Returns a maker of empty folders of kind `what`; call it at the top level of a test file. */
export function tempDirs(what: string): () => Promise<string> {
  const dirs: string[] = []
  after(async () => { await Promise.all(dirs.map((d) => removeTempDir(d))) })
  return async () => {
    const dir = await makeTempDir(what)
    dirs.push(dir)
    return dir
  }
}
