// Every fast unit test (test/unit/*.test.ts) in one process, for mutation testing (stryker.config.json):
// one tsx start-up per mutant instead of one per file. node:test runs what the imports register and
// sets a failing exit code when any test fails. log.test.ts is left out: it tests src/log.ts (not
// mutated) through child processes, which would not see the mutant anyway, and it is the slowest.
import { readdirSync } from 'node:fs'

const dir = new URL('./unit/', import.meta.url)
const skip = new Set(['log.test.ts'])
for (const name of readdirSync(dir).filter((n) => n.endsWith('.test.ts') && !skip.has(n)).sort()) {
  await import(new URL(name, dir).href)
}
