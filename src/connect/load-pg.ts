// Loads pg before any module of the SDK imports it (each of those imports this module first), without the
// cost of its Cloudflare Workers probe. At load, pg's lib/stream.js asks whether it runs in a Worker: it
// reads `navigator.userAgent` where a global `navigator` exists (Node 21 and later: "Node.js/…"), and
// otherwise constructs a `Response`, whose first use makes Node 20 load and compile undici (its fetch):
// measured pinned, about 20 ms of CPU, a tenth of a cold process's, for an answer Node already knows.
// On Node 20, pg is therefore required with a `navigator` that says "Node.js", defined for that one
// synchronous call and removed right after (no other code runs in between). Everything else about pg is
// unchanged, and the module object is pg's own, shared with every other importer of pg in the process.
// Where pg is already loaded, or `navigator` exists, this is a plain require.
import { createRequire } from 'node:module'

const hasNavigator = 'navigator' in globalThis
if (!hasNavigator) Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Node.js' }, configurable: true, writable: true })
try {
  createRequire(import.meta.url)('pg')
} finally {
  if (!hasNavigator) Reflect.deleteProperty(globalThis, 'navigator')
}
