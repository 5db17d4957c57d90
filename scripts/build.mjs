// Builds the package twice from the same sources (see README "Packaging"):
//   dist/esm  ES modules, for `import` (and the `azure-pg-tls` bin, which uses top-level await);
//   dist/cjs  CommonJS, for `require`, marked by dist/cjs/package.json {"type":"commonjs"}.
// TypeScript picks a file's output format from the nearest package.json, so the CommonJS build compiles a
// copy of src/ placed under a {"type":"commonjs"} package.json, with `module: node16`: that keeps `import()`
// a real dynamic import in CommonJS output, which node-fetch 3 (ES module only) and @azure/identity need on
// Node versions that cannot require() an ES module. The only ESM-only syntax in src/, `import.meta.url`, is
// replaced in the copy by its CommonJS equivalent; anything else ESM-only fails the build.
//
// tsc's output gives the type declarations (and checks the CommonJS form compiles); the JavaScript that
// ships is bundled by esbuild (tsx's own dependency) into one CommonJS file, dist/cjs/azure-pg-tls.js, which
// every entry point loads (issue 20):
//   - a new process reads one file instead of ~50 modules, each of which Node's ES module loader resolves,
//     reads and links on its own (that per-module work was most of the import's cost);
//   - CommonJS is compiled lazily, function by function, where an ES module of the same size is compiled
//     whole before it runs (measured: ~11 ms less CPU per cold process for the same bundle), and pg, itself
//     CommonJS, is then required directly instead of through its ES module wrapper;
//   - import and require share one copy: one AzurePgError class and one set of caches per process.
// dist/cjs/index.js and connect/pg.js re-export their part name by name, as tsc's CommonJS output did;
// dist/esm/index.js and connect/pg.js are ES module wrappers that require() the same bundle (an ES module may
// require CommonJS on every Node version). The bin is an ES module bundle of its own (top-level await).
// External packages (pg, node-fetch, @azure/identity) stay imports; import() stays a real dynamic import,
// which node-fetch 3 and @azure/identity (ES modules only) need on Node 20 before 20.19.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

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

/** Removes tsc's JavaScript (the bundles replace it); the .d.ts files stay, they are the package's types. */
function dropCompiledJs(dir) {
  for (const file of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (file.isFile() && file.name.endsWith('.js')) unlinkSync(join(file.parentPath, file.name))
  }
}

const common = {
  bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning',
  absWorkingDir: root, legalComments: 'none', charset: 'utf8',
}
const esm = join(root, 'dist', 'esm')
const cjs = join(root, 'dist', 'cjs')
dropCompiledJs(esm)
dropCompiledJs(cjs)
await build({ ...common, entryPoints: { 'cli/bin': 'src/cli/bin.ts' }, outdir: esm, format: 'esm' })
// azure-pg-tls/otel is a small bundle of its own, in both formats: it loads @opentelemetry/api (an optional
// peer) as it starts, which the library's bundle must never do. It shares nothing with the library but the
// diagnostics channels, which Node keys by name, so its own copy of their names is the same channels.
for (const [outdir, format] of [[esm, 'esm'], [cjs, 'cjs']]) {
  await build({ ...common, entryPoints: { 'otel/index': 'src/otel/index.ts' }, outdir, format })
}
// One bundle holds both entry points' namespaces; each CommonJS entry file re-exports its part name by name
// (`__esModule`, `exports.default`), so that `import pg from 'azure-pg-tls/pg'` under esModuleInterop and
// Node's named-export detection both see the shape tsc's output had.
await build({
  ...common,
  stdin: {
    contents: "export * as index from './src/index.ts'\nexport * as pg from './src/connect/pg.ts'\n",
    resolveDir: root, sourcefile: 'cjs-entries.js', loader: 'js',
  },
  outfile: join(cjs, 'azure-pg-tls.js'), format: 'cjs',
  // The one ESM-only expression in src/ (package-root.ts), as CommonJS spells it.
  define: { 'import.meta.url': '__azurePgTlsModuleUrl' },
  banner: { js: "const __azurePgTlsModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
})
const entries = createRequire(import.meta.url)(join(cjs, 'azure-pg-tls.js'))
for (const [entry, part] of [['index.js', 'index'], [join('connect', 'pg.js'), 'pg']]) {
  const from = relative(join(cjs, entry, '..'), join(cjs, 'azure-pg-tls.js')).replaceAll('\\', '/')
  const lines = [
    '"use strict";',
    '// The library is one bundle shared by both entry points (scripts/build.mjs).',
    'Object.defineProperty(exports, "__esModule", { value: true });',
    `const part = require("${from.startsWith('.') ? from : `./${from}`}").${part};`,
    ...Object.keys(entries[part]).sort().map((name) => `exports.${name} = part.${name};`),
  ]
  writeFileSync(join(cjs, entry), `${lines.join('\n')}\n`)
  const names = Object.keys(entries[part]).filter((name) => name !== 'default').sort()
  const esmLines = [
    '// The library is one CommonJS bundle shared by every entry point, imported or required (scripts/build.mjs).',
    "import { createRequire } from 'node:module';",
    `const part = createRequire(import.meta.url)("${relative(join(esm, entry, '..'), join(cjs, 'azure-pg-tls.js')).replaceAll('\\', '/')}").${part};`,
    `export const { ${names.join(', ')} } = part;`,
    ...('default' in entries[part] ? ['export default part.default;'] : []),
  ]
  mkdirSync(join(esm, entry, '..'), { recursive: true })
  writeFileSync(join(esm, entry), `${esmLines.join('\n')}\n`)
}
