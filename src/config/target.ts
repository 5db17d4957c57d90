// Where a configuration connects, and as whom, for explaining the failure of a connection the SDK did
// not make (another library's, from the SDK's configuration): the settings as the SDK resolves them,
// or, for a configuration that does not resolve again, the fields pg was given.
import type { ConnectContext } from '../explain.js'
import type { AzurePgOptions, ServerType } from '../options.js'
import { parseConnectionString, type ParsedConnectionString } from './connection-string.js'
import { processEnv, resolveOptions } from './resolve.js'

/** A configuration's target as error messages name it, and the strings no message may show. */
export interface ConnectionTarget {
  readonly context: ConnectContext
  readonly secrets: readonly string[]
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined)

/**
 * The target of `options`: resolved as the SDK resolves them (the environment filling unset fields,
 * Azure naming applied) or, when they do not resolve, read field by field. The secrets are the
 * password and the whole connection string (a text quoting the string shows the password wherever in
 * it the password is). Never throws, and keeps nothing of why the options could not be read: a
 * refusal's message may quote what the user typed.
 */
export function connectionTarget(options: AzurePgOptions, trust: string): ConnectionTarget {
  const always = wholeString(options)
  try {
    const settings = resolveOptions(options)
    const entra = settings.entra !== undefined
    // As connect/prepare.ts's connectContext, which sits in a layer above this one.
    const context: ConnectContext = {
      host: settings.host, connectHost: settings.connectHost, port: settings.port,
      user: settings.user ?? (entra ? '(the Entra ID token\'s user)' : ''), serverType: settings.serverType, trust, entra,
    }
    return { context, secrets: [...always, ...(typeof settings.password === 'string' ? [settings.password] : [])] }
  } catch {
    // A resolved configuration reached through hostaddr does not resolve again (its host is the
    // address, ssl.servername the name), and a refused one cannot: read the fields pg was given.
  }
  try {
    return declared(options, always, trust)
  } catch {
    // Getters that throw: what is certain is nothing about the server.
    return { context: { host: '(unknown host)', connectHost: '(unknown host)', port: 5432, user: '', serverType: 'auto', trust }, secrets: always }
  }
}

function wholeString(options: AzurePgOptions): string[] {
  try {
    const s = text(options.connectionString)
    return s === undefined ? [] : [s]
  } catch {
    return []
  }
}

/**
 * The target read straight from the fields: the server name as TLS checks it (`ssl.servername`, else
 * `host`), where the socket went (`hostaddr`, else `host`), then the connection string's keys.
 */
function declared(options: AzurePgOptions, always: readonly string[], trust: string): ConnectionTarget {
  const parsed = parsedOrUndefined(options.connectionString)
  const param = (key: string): string | undefined => text(parsed?.params[key]?.value)
  const ssl = typeof options.ssl === 'object' && options.ssl !== null ? options.ssl : undefined
  const hostGiven = text(options.host) ?? param('host')
  const addr = text(options.hostaddr) ?? param('hostaddr')
  const host = text(ssl?.servername) ?? hostGiven ?? addr ?? '(unknown host)'
  const connectHost = addr ?? hostGiven ?? host
  const portNumber = Number(options.port ?? param('port') ?? 5432)
  const port = Number.isInteger(portNumber) && portNumber >= 1 && portNumber <= 65535 ? portNumber : 5432
  const serverType: ServerType = options.serverType === 'single' || options.serverType === 'flexible' ? options.serverType : 'auto'
  const entra = options.entra !== undefined && options.entra !== null && (options.entra as unknown) !== false
  // Which password the connection used is unknown here: withhold every one it could have used.
  const env = typeof options.env === 'object' && options.env !== null ? options.env : processEnv()
  const secrets = [...always, options.password, param('password'), env['PGPASSWORD'], env['AZURE_POSTGRESQL_PASSWORD']]
    .filter((s): s is string => text(s) !== undefined)
  return { context: { host, connectHost, port, user: text(options.user) ?? param('user') ?? '', serverType, trust, entra }, secrets }
}

function parsedOrUndefined(connectionString: unknown): ParsedConnectionString | undefined {
  if (typeof connectionString !== 'string') return undefined
  try {
    return parseConnectionString(connectionString)
  } catch {
    return undefined
  }
}
