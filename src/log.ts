import type { Logger } from './options.js'

/** A logger that drops everything: the library is silent unless asked. */
export const silentLogger: Logger = { warn() {} }

/**
 * The default logger: silent unless `DEBUG` names `azure-pg-tls` (or `*`), as the `debug` package's
 * users expect; then warnings go to stderr.
 */
export function defaultLogger(env: Readonly<Record<string, string | undefined>>): Logger {
  const debug = (Object.hasOwn(env, 'DEBUG') ? env['DEBUG'] : undefined) ?? ''
  const enabled = debug.split(/[\s,]+/).some((d) => d === '*' || d === 'azure-pg-tls' || d === 'azure-pg-tls:*')
  if (!enabled) return silentLogger
  return { warn: (message) => process.stderr.write(`azure-pg-tls warning: ${message}\n`) }
}
