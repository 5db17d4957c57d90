// Tests that run dist/ (the bin, the exports map) must run what src/ says now, not an older build:
// when any source file is newer than the oldest built file, or dist/ is missing, build first.
import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

async function mtimes(dir: string, suffix: string): Promise<number[]> {
  const out: number[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) out.push((await stat(join(entry.parentPath ?? entry.path, entry.name))).mtimeMs)
  }
  return out
}

let checked: Promise<void> | undefined

/**
 * Builds dist/ (`npm run build`: dist/esm and dist/cjs) unless both builds are there and newer than every
 * file in src/. Once per process.
 */
export function ensureFreshBuild(): Promise<void> {
  checked ??= (async () => {
    const newestSource = Math.max(...(await mtimes(join(root, 'src'), '.ts')))
    const built = await Promise.all(['esm', 'cjs'].map((dir) => mtimes(join(root, 'dist', dir), '.js').catch(() => [])))
    if (built.every((b) => b.length > 0 && Math.min(...b) >= newestSource)) return
    await run(process.execPath, [join(root, 'scripts/build.mjs')], { cwd: root, timeout: 240_000 })
  })()
  return checked
}
