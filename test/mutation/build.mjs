// Stryker's buildCommand for scripts/mutate.mjs: compiles every .ts file of the sandbox's src/, test/ and
// lab/ to a .js file beside it, once, with esbuild (the transform tsx itself uses, with this repository's
// tsconfig). With mutant schemata the sandbox's code is the same for every mutant (only the environment
// variable __STRYKER_ACTIVE_MUTANT__ changes), so each mutant's process can run plain node on these files
// (test/mutation/run-tests.mjs) instead of starting tsx and loading every module through it again.
// The imports already name .js files (NodeNext), so the compiled files import each other.
import { transform } from 'esbuild'
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const { compilerOptions } = JSON.parse(readFileSync('tsconfig.json', 'utf8'))
let count = 0
for (const dir of ['src', 'test', 'lab']) {
  for (const entry of readdirSync(dir, { recursive: true })) {
    const file = join(dir, String(entry))
    if (!file.endsWith('.ts') || file.endsWith('.d.ts') || !statSync(file).isFile()) continue
    const out = `${file.slice(0, -3)}.js`
    const { code } = await transform(readFileSync(file, 'utf8'), {
      loader: 'ts', format: 'esm', target: 'node20', sourcefile: file, tsconfigRaw: { compilerOptions },
    })
    writeFileSync(out, code)
    count++
  }
}
console.log(`mutation build: ${count} TypeScript files compiled beside their sources`)
