// A node:test reporter for mutation runs: ends the process (exit code 1) at the first failing test,
// naming it on stderr. Used only by the commands of scripts/mutate.mjs, never by npm test.
export default async function* bail(source) {
  for await (const event of source) {
    if (event.type === 'test:fail') {
      process.stderr.write(`mutation run: failed: ${event.data.name}\n`)
      process.exit(1)
    }
  }
}
