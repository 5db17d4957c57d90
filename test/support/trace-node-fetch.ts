// Loaded with --import in a child process: prints "node-fetch loaded" the moment anything imports
// node-fetch, so a test can see that the library loads it lazily.
import { register } from 'node:module'

register(`data:text/javascript,${encodeURIComponent(`
import { writeSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === 'node-fetch') writeSync(1, 'node-fetch loaded\\n');
  return next(specifier, context);
}`)}`)
