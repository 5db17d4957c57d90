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
// ships is then bundled by esbuild (tsx's own dependency): a new process that imports the package loads a
// couple of files instead of ~50 modules, each of which Node's ES module loader resolves, reads and links
// on its own (issue 20: that per-module work was most of the import's cost). Both entry points share their
// code, so that an app using both gets one AzurePgError class and one set of caches:
//   dist/esm  index.js, connect/pg.js and cli/bin.js, with esbuild's code splitting (shared chunks/);
//   dist/cjs  azure-pg-tls.js holds the library once; index.js and connect/pg.js each re-export their part.
// External packages (pg, node-fetch, @azure/identity) stay imports; import() of them stays a real dynamic import.
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
    include: ['src/index.ts', 'src/connect/pg.ts'],
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
await build({
  ...common,
  entryPoints: { index: 'src/index.ts', 'connect/pg': 'src/connect/pg.ts', 'cli/bin': 'src/cli/bin.ts' },
  outdir: esm, format: 'esm', splitting: true, chunkNames: 'chunks/[name]-[hash]',
})
// CommonJS has no code splitting: one bundle holds both entry points' namespaces, and each entry file
// re-exports its part name by name, as tsc's CommonJS output did (`__esModule`, `exports.default`), so that
// `import pg from 'azure-pg-tls/pg'` under esModuleInterop and Node's named-export detection both see the same shape.
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
}
