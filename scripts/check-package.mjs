// Packs the package once (`npm pack` runs prepack, which builds dist/) and lints exactly that tarball:
// publint --strict (package.json fields, exports, files) and @arethetypeswrong/cli (types under node10,
// node16 from ESM and from CommonJS, and bundler resolution). Any finding fails `npm test`.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = (pkg, file) => join(root, 'node_modules', ...pkg.split('/'), file)
const dir = mkdtempSync(join(tmpdir(), 'azure-pg-tls-pack-'))
try {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const [packed] = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))
  const tarball = join(dir, packed.filename)
  console.log(`packed ${packed.filename}: ${packed.entryCount} files, ${packed.size} bytes`)
  execFileSync(process.execPath, [bin('publint', 'src/cli.js'), 'run', tarball, '--strict'], { cwd: root, stdio: 'inherit' })
  // --no-definitely-typed: the package has its own types; never ask the registry for @types/azure-pg-tls.
  execFileSync(process.execPath, [bin('@arethetypeswrong/cli', 'dist/index.js'), tarball, '--no-definitely-typed', '--format', 'table-flipped', '--no-color', '--no-emoji'], { cwd: root, stdio: 'inherit' })
} catch (err) {
  // The tools have printed their findings; a stack trace would only hide them.
  console.error(`check-package: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`)
  process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
