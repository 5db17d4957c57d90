// Typed code changes one import line: programs that use pg's types as `pg.X` (and named, and `import * as`)
// compile against the packed tarball's 'azure-pg-tls/pg' exactly as they do against 'pg', under each
// moduleResolution the package supports. tsc runs once per mode, all modes at once.
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'
import { cleanEnv, installPackedApp, run } from '../support/packed-app.js'
import { pgTypeNames, typedPrograms, TYPED_MODES, verifiedTypes, type PgTypeNames, type TypedMode } from '../support/typed-consumers.js'

/**
 * Type-checks the typed consumer programs for one mode in a project of their own inside the app, once
 * importing 'pg' (src/pg/) and once 'azure-pg-tls/pg' (src/drop-in/). Returns tsc's errors by file.
 */
async function typeCheck(app: string, mode: TypedMode, names: PgTypeNames): Promise<Record<string, string[]>> {
  const dir = join(app, 'typed', mode.name.replaceAll(/\W+/g, '-'))
  for (const [folder, specifier] of [['pg', 'pg'], ['drop-in', 'azure-pg-tls/pg']] as const) {
    await mkdir(join(dir, 'src', folder), { recursive: true })
    const programs = typedPrograms(mode, specifier, names)
    if (folder === 'drop-in') programs['verified-types'] = verifiedTypes(specifier)
    for (const [name, text] of Object.entries(programs)) {
      await writeFile(join(dir, 'src', folder, `${name}.ts`), text)
    }
  }
  await writeFile(join(dir, 'package.json'), `${JSON.stringify({ type: mode.packageType })}\n`)
  const compilerOptions = { ...mode.compilerOptions, target: 'ES2022', strict: true, esModuleInterop: true, skipLibCheck: false, types: ['node'], noEmit: true }
  await writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['src'] }, null, 2)}\n`)
  let output = ''
  try {
    await run(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir, env: cleanEnv(), timeout: 120_000 })
  } catch (err) {
    output = (err as { stdout?: string }).stdout ?? String(err)
  }
  const errors: Record<string, string[]> = {}
  let file = '(tsc)'
  for (const line of output.split('\n').filter((l) => l.trim() !== '')) {
    // An indented line continues the diagnostic above it.
    const m = /^(\S.*?)\(\d+,\d+\): (.*)$/.exec(line)
    if (m !== null) file = m[1] ?? file
    ;(errors[file] ??= []).push(m?.[2] ?? line.trim())
  }
  return errors
}

describe('the packed tarball, type-checked as typed pg code uses it', { timeout: 600_000 }, () => {
  let tmp: string | undefined
  let names: PgTypeNames
  const checks = new Map<string, Promise<Record<string, string[]>>>()

  before(async () => {
    tmp = await makeTempDir('package-types')
    const app = await installPackedApp(tmp, ['typescript', '@types/node', '@types/pg'])
    names = await pgTypeNames(app)
    for (const mode of TYPED_MODES) {
      const check = typeCheck(app, mode, names)
      // Awaited by the mode's own test; a rejection here is that test's failure, not an unhandled one.
      check.catch(() => undefined)
      checks.set(mode.name, check)
    }
  }, { timeout: 540_000 })

  after(async () => {
    await Promise.allSettled(checks.values())
    if (tmp !== undefined) await removeTempDir(tmp)
  })

  for (const mode of TYPED_MODES) {
    it(`typed code changes one import line: pg.Pool, pg.QueryResult<Row>, ... compile from 'pg' and from 'azure-pg-tls/pg' (moduleResolution ${mode.name})`, async () => {
      // The programs name every type @types/pg offers; these must be among what was read from it.
      for (const list of [names.esmDefault, names.module]) for (const t of ['Client', 'Pool', 'PoolClient', 'QueryResult', 'ClientConfig', 'DatabaseError']) assert.ok(list.includes(t), t)
      const errors = await (checks.get(mode.name) ?? Promise.reject(new Error(`no check for ${mode.name}`)))
      assert.deepEqual(errors, {}, `tsc reported errors:\n${JSON.stringify(errors, null, 2)}`)
    })
  }

})
