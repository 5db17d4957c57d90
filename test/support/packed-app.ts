// The packed tarball installed into a new project, as a user installs it: shared by the package test files.
import { execFile } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const run = promisify(execFile)
export const root = fileURLToPath(new URL('../../', import.meta.url))
export const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> }

/**
 * The caller's environment without npm's lifecycle variables (`npm test` sets npm_config_* and npm_package_*,
 * which would point the inner npm at this repository) and without the machine's PG* settings.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|PG)/i.test(k)) env[k] = v
  return { ...env, ...extra }
}

/** Runs a command; its stdout, or an error carrying its whole output. */
export async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 60_000): Promise<string> {
  try {
    return (await run(file, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 })).stdout
  } catch (err) {
    const e = err as { message?: string; stdout?: string; stderr?: string }
    throw new Error(`${file} ${args.join(' ')} failed: ${e.message ?? ''}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
  }
}

/**
 * Packs this repository (`npm pack` runs prepack, which builds dist/ from the current sources) into `dir`
 * and installs the tarball into a new project `dir/app`, with `devTools` (package names, at the versions
 * this repository pins) beside it. Returns the app's folder.
 */
export async function installPackedApp(dir: string, devTools: readonly string[]): Promise<string> {
  const app = join(dir, 'app')
  const packed = JSON.parse(await exec('npm', ['pack', '--json', '--pack-destination', dir], root, cleanEnv(), 180_000)) as [{ filename: string }]
  await mkdir(join(app, 'src'), { recursive: true })
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2)}\n`)
  const pinned = devTools.map((name) => `${name}@${manifest.devDependencies[name] ?? 'missing'}`)
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed[0].filename), ...pinned], app, cleanEnv(), 300_000)
  return app
}
