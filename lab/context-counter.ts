// Counts TLS contexts built in this process: wraps tls.createSecureContext, which tls.connect calls for
// every connection not handed a ready `secureContext` (node's _tls_wrap reaches it through the module
// object), and re-syncs the ESM named export so `import { createSecureContext }` sees the wrapper too.
import { syncBuiltinESMExports } from 'node:module'
import tls from 'node:tls'

let built = 0
let installed = false

/** Installs the wrapper (once) and returns a reader of the count so far. */
export function countSecureContexts(): () => number {
  if (!installed) {
    installed = true
    const original = tls.createSecureContext
    tls.createSecureContext = function counted(...args: Parameters<typeof tls.createSecureContext>): tls.SecureContext {
      built++
      return original.apply(tls, args)
    }
    syncBuiltinESMExports()
  }
  return () => built
}
