// The tests of one mutation group in one plain node process, on the .js files test/mutation/build.mjs
// compiled in Stryker's sandbox (no tsx). The arguments are the group's test files as .ts paths (as in
// test/mutation/groups.json); each is imported as the .js beside it. node:test runs what the imports
// register and sets a failing exit code when any test fails; with bail.mjs as reporter the first failure
// ends the process.
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const files = process.argv.slice(2)
if (files.length === 0) throw new Error('run-tests.mjs: name the test files to run')
for (const file of files) if (!file.endsWith('.ts')) throw new Error(`run-tests.mjs: ${file} is not a .ts test file`)
// Resolved before the first import: a test file may change the working folder (process.chdir) as it loads.
const urls = files.map((file) => pathToFileURL(resolve(`${file.slice(0, -3)}.js`)).href)
for (const url of urls) await import(url)
