// Builds the package twice from the same sources (see README "Packaging"):
//   dist/esm  ES modules, for `import` (and the `azure-pg-tls` bin, which uses top-level await);
//   dist/cjs  CommonJS, for `require`, marked by dist/cjs/package.json {"type":"commonjs"}.
// TypeScript picks a file's output format from the nearest package.json, so the CommonJS build compiles a
// copy of src/ placed under a {"type":"commonjs"} package.json, with `module: node16`: that keeps `import()`
// a real dynamic import in CommonJS output, which node-fetch 3 (ES module only) and @azure/identity need on
// Node versions that cannot require() an ES module. The only ESM-only syntax in src/, `import.meta.url`, is
// replaced in the copy by its CommonJS equivalent; anything else ESM-only fails the build.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const stage = join(root, '.tmp', 'cjs-build')

function compile(project) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' })
}

function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
}

rmSync(join(root, 'dist'), { recursive: true, force: true })
compile('tsconfig.build.json')

rmSync(stage, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })
try {
  cpSync(join(root, 'src'), join(stage, 'src'), { recursive: true })
  for (const file of tsFiles(join(stage, 'src'))) {
    const text = readFileSync(file, 'utf8')
    const shimmed = text.replaceAll('import.meta.url', "require('node:url').pathToFileURL(__filename).href")
    if (shimmed.includes('import.meta')) throw new Error(`${file}: import.meta has no CommonJS equivalent here`)
    if (shimmed !== text) writeFileSync(file, shimmed)
  }
  writeFileSync(join(stage, 'package.json'), '{ "type": "commonjs" }\n')
  writeFileSync(join(stage, 'tsconfig.json'), `${JSON.stringify({
    extends: '../../tsconfig.build.json',
    compilerOptions: { module: 'Node16', moduleResolution: 'Node16', rootDir: 'src', outDir: '../../dist/cjs' },
    // The library's entry and what it imports; not the bin, which node runs as an ES module (top-level await).
    include: ['src/index.ts', 'src/connect/pg.ts', 'src/otel/index.ts'],
  }, null, 2)}\n`)
  compile(join(stage, 'tsconfig.json'))
  writeFileSync(join(root, 'dist', 'cjs', 'package.json'), '{ "type": "commonjs" }\n')
} finally {
  rmSync(stage, { recursive: true, force: true })
}
