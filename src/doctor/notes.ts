// What the doctor says about a configuration and its addresses, beyond pass or fail: which Azure
// service the host name points at, and whether its addresses fit a public or a private endpoint.
import type { Settings } from '../config/resolve.js'

const CLOUDS = { public: 'public cloud', usgov: 'US Government', china: 'Azure China' } as const

/** One line naming the Azure service, cloud and server a configuration points at. */
export function serverKind(settings: Settings): string {
  const { azure } = settings
  if (azure === undefined) return settings.serverName === undefined ? 'not an Azure PostgreSQL host name' : `custom name for Azure server "${settings.serverName}"`
  const cloud = CLOUDS[azure.cloud]
  if (azure.service === 'cosmos') return `Azure Cosmos DB for PostgreSQL (${cloud})`
  const kind = settings.serverType === 'auto' ? 'Single or Flexible Server: the name cannot tell; Flexible naming is used' : `${settings.serverType === 'single' ? 'Single' : 'Flexible'} Server`
  return `Azure Database for PostgreSQL, ${cloud}, server "${azure.serverName ?? '?'}"${azure.privateLink ? ' via a private DNS zone' : ''} (${kind})`
}

/** Ports a PgBouncer listens on in Azure: Flexible Server's built-in one, and elastic clusters'. */
const POOLER_PORTS: Readonly<Record<number, string>> = {
  6432: "PgBouncer's port on Azure Flexible Server (the built-in PgBouncer): transaction pooling, so session state (SET, prepared statements by name, advisory locks) does not last between transactions",
  8432: "PgBouncer's port on Azure elastic clusters (connections spread over the nodes): transaction pooling, so session state does not last between transactions",
}

/** A note when the port is one Azure's PgBouncer listens on. */
export function poolerNote(settings: Settings): string[] {
  const note = POOLER_PORTS[settings.port]
  return note === undefined ? [] : [`port ${settings.port}: ${note}`]
}

/** Private, loopback and link-local ranges (RFC 1918, RFC 4193, RFC 3927). */
export function isPrivateAddress(a: string): boolean {
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.|169\.254\.|fc|fd|::1$)/i.test(a)
}

/** Notes on addresses that do not fit the kind of Azure name they came from. */
export function dnsNotes(settings: Settings, addresses: readonly string[]): string[] {
  const { azure } = settings
  const notes: string[] = []
  if (azure?.privateLink === true && addresses.some((a) => !isPrivateAddress(a))) notes.push('note: a private-endpoint name resolves to a public address: the private DNS zone is not linked to this network')
  if (azure !== undefined && !azure.privateLink && addresses.every(isPrivateAddress)) notes.push('note: resolves to a private address: a private endpoint or VNet integration answers for this name')
  return notes
}
