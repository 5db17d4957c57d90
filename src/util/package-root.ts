import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE_NAME = 'azure-pg-tls'

/**
 * The folder holding this package's own package.json, found by walking up from one of its modules.
 * The modules sit at different depths in src/ (tests), dist/esm/ and dist/cjs/, so a fixed `../..` cannot
 * serve all three; dist/cjs/package.json (`{"type":"commonjs"}`, no name) is passed over.
 * Falls back to two levels above the module, where a missing file then gets a clear error from the caller.
 */
export function packageRoot(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl))
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }
      if (manifest.name === PACKAGE_NAME) return dir
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (dirname(dir) === dir) return join(start, '..', '..')
  }
}
