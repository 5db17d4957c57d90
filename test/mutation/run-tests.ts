// The tests of one mutation group (scripts/mutate.mjs, test/mutation/groups.json), in one process:
// one tsx start-up per mutant instead of one per file. The files are the arguments (paths from the
// repository root); node:test runs what the imports register and sets a failing exit code when any
// test fails. With bail.mjs as reporter (--test-reporter), the first failure ends the process: a
// killed mutant costs only the tests up to the first one that notices it.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const files = process.argv.slice(2)
if (files.length === 0) throw new Error('run-tests.ts: name the test files to run')
for (const file of files) await import(pathToFileURL(resolve(file)).href)
