import { isIP } from 'node:net'
import { AzurePgError, invalidConfig } from '../errors.js'
import type { AzureCloud, AzureHostInfo, AzureService, ServerType } from '../options.js'

// Source: docs/azure-facts.md "Host names" (Azure docs, 2026-11).
const SUFFIXES: ReadonlyArray<{ suffix: string; cloud: AzureCloud; service: AzureService }> = [
  { suffix: '.postgres.database.azure.com', cloud: 'public', service: 'postgres' },
  { suffix: '.postgres.database.usgovcloudapi.net', cloud: 'usgov', service: 'postgres' },
  { suffix: '.postgres.database.chinacloudapi.cn', cloud: 'china', service: 'postgres' },
  { suffix: '.postgres.cosmos.azure.com', cloud: 'public', service: 'cosmos' },
]

/**
 * Classifies a host name under Azure's PostgreSQL DNS suffixes; undefined for any other host.
 * Single and Flexible Server share the suffixes, so the host alone never says which one it is.
 */
export function classifyAzureHost(host: string): AzureHostInfo | undefined {
  const name = host.toLowerCase().replace(/\.$/, '')
  const match = SUFFIXES.find(({ suffix }) => name.endsWith(suffix))
  if (match === undefined) return undefined
  const labels = name.slice(0, -match.suffix.length).split('.')
  const privateLink = labels.length > 1 && ['privatelink', 'private'].includes(labels[labels.length - 1] ?? '')
  if (privateLink) labels.pop()
  const first = labels[0] ?? ''
  if (first === '') return undefined
  // Citus clusters: c-<cluster>.<id>.postgres.cosmos.azure.com, or the older c.<cluster>.postgres.database.azure.com.
  const oldCitus = match.service === 'postgres' && labels.length === 2 && /^(c|w\d+)$/.test(first)
  const service: AzureService = oldCitus ? 'cosmos' : match.service
  return { cloud: match.cloud, service, privateLink, serverName: service === 'cosmos' ? undefined : first }
}

/** Input of {@link azureLoginName}. */
export interface LoginNameInput {
  /** The user name as configured. */
  readonly user: string
  /** The short server name, lower-case, if known. */
  readonly serverName: string | undefined
  readonly serverType: ServerType
  /** The host, only for messages. */
  readonly host: string
}

const LABEL = '[\\p{L}\\p{N}_](?:[\\p{L}\\p{N}_-]*[\\p{L}\\p{N}_])?'
const HOST_NAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`, 'u')

/**
 * Whether `host` is a DNS name (letters, digits, `_` and inner `-` per label, at most 253 characters), an
 * IP address (IPv6 with a zone too), or a Unix-socket path. An allow-list: whatever else a host could hold
 * (control characters, spaces, quotes) is never handed to a resolver nor repeated in a message.
 */
export function isHostOrAddress(host: string): boolean {
  if (host.startsWith('/') || isIP(host) !== 0 || isIP(host.replace(/%[\w.-]+$/, '')) === 6) return true
  return host.length <= 253 && HOST_NAME.test(host)
}

/**
 * The user name to send, following Azure's rules: Single Server wants `user@server` (after the whole
 * name, so an Entra UPN becomes `alice@contoso.com@server`); Flexible Server and `auto` send it as
 * given. In every mode, a dotless `@suffix` naming another server is refused: on Single Server that
 * suffix picks the server, so it is always a mistake.
 */
export function azureLoginName({ user, serverName, serverType, host }: LoginNameInput): string {
  const at = user.lastIndexOf('@')
  const suffix = at === -1 ? undefined : user.slice(at + 1)
  const namesServer = suffix !== undefined && suffix !== '' && !suffix.includes('.')
  if (namesServer && serverName !== undefined && suffix.toLowerCase() !== serverName) {
    // The suffix is user-typed (and may be a password typed in the wrong field): it is not repeated.
    throw new AzurePgError('USER_SERVER_MISMATCH',
      `The user name ends in "@<server>" naming another server than the host's, which is server "${serverName}".`,
      { hint: `Use the user name without its @ suffix, or with "@${serverName}", or connect to the server the suffix names.` })
  }
  if (serverType !== 'single') return user
  if (serverName === undefined) {
    throw invalidConfig(`serverType 'single' needs a server name, and the host "${host}" is not an Azure Database for PostgreSQL server name.`,
      "Pass serverName: '<server>' (the first label of <server>.postgres.database.azure.com), or use serverType 'flexible'.")
  }
  return namesServer ? user : `${user}@${serverName}`
}

// Source: docs/azure-facts.md "Microsoft Entra ID tokens".
const ENTRA_SCOPES = {
  public: 'https://ossrdbms-aad.database.windows.net/.default',
  usgov: 'https://ossrdbms-aad.database.usgovcloudapi.net/.default',
  china: 'https://ossrdbms-aad.database.chinacloudapi.cn/.default',
  cosmos: 'https://postgres.cosmos.azure.com/.default',
} as const

/**
 * The Entra ID token scope for a host: each Azure cloud's `ossrdbms-aad` scope, Cosmos DB for
 * PostgreSQL's own, the public cloud's for hosts outside Azure's names (custom DNS). Pure.
 */
export function entraScopeFor(azure: AzureHostInfo | undefined): string {
  if (azure === undefined) return ENTRA_SCOPES.public
  return azure.service === 'cosmos' ? ENTRA_SCOPES.cosmos : ENTRA_SCOPES[azure.cloud]
}
