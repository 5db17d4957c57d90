// The doctor's look at a host list: each server's role (pg_is_in_recovery()), version and read-only state,
// each from a login of its own; which server a connect with the configured target_session_attrs would settle
// on (libpq's order and rules, as the host loop applies them); and Azure's names for what each role is.
import type { HostTarget, Settings } from '../config/resolve.js'
import { AzurePgClient } from '../connect/client.js'
import { hostAttempts } from '../connect/host-order.js'
import { prepare } from '../connect/prepare.js'
import { judgeSession } from '../connect/session-check.js'
import { explainConnectError } from '../explain.js'
import type { TargetSessionAttrs } from '../options.js'

/** What one server of the list turned out to be. */
export type HostRole =
  | { readonly ok: true; readonly inRecovery: boolean; readonly readOnly: boolean; readonly version: string }
  | { readonly ok: false; readonly failure: string; readonly code: string }

/**
 * The settings of one server of the list, as if it were the only one (any session taken): what the doctor
 * logs in to each server with. Its TLS name and login name are that server's own.
 */
export function settingsForHost(settings: Settings, target: HostTarget): Settings {
  return Object.freeze({
    ...settings,
    host: target.host, connectHost: target.connectHost, port: target.port, user: target.user, serverName: target.serverName, azure: target.azure,
    tls: Object.freeze({ ...settings.tls, servername: target.servername }),
    hosts: Object.freeze([target]), targetSessionAttrs: 'any' as const, loadBalanceHosts: 'disable' as const, warnings: Object.freeze([]),
  })
}

/** Logs in to one server and asks what it is; a failure is described, never thrown. Bounded by `limitMs`. */
export async function probeRole(settings: Settings, target: HostTarget, limitMs: number): Promise<HostRole> {
  const prepared = await prepare(settingsForHost(settings, target))
  const client = new AzurePgClient(prepared, { ...prepared.config, connectionTimeoutMillis: limitMs, query_timeout: limitMs })
  try {
    await client.connect()
    const r = await client.query<{ rec: boolean; version: string; ro: string }>(
      "SELECT pg_catalog.pg_is_in_recovery() AS rec, current_setting('server_version') AS version, current_setting('transaction_read_only') AS ro")
    const row = r.rows[0]
    return { ok: true, inRecovery: row?.rec === true, readOnly: row?.ro === 'on', version: row?.version ?? '?' }
  } catch (err) {
    const e = explainConnectError(err, prepared.context, prepared.secrets())
    return { ok: false, failure: e.message, code: e.code }
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * The index of the server a connect with `attrs` would settle on, given each server's role (in the order
 * given: with load_balance_hosts=random the order differs per connect); undefined when none fits. A server
 * that could not be logged in to is passed over here (a real connect stops at a failure after the server
 * answered, as libpq does: the doctor reports those separately).
 */
export function chosenByRoles(roles: readonly HostRole[], attrs: TargetSessionAttrs): number | undefined {
  for (const attempt of hostAttempts(roles.length, attrs, 'disable')) {
    const role = roles[attempt.index]
    if (role === undefined || !role.ok) continue
    if (judgeSession(attempt.want, { inHotStandby: role.inRecovery, defaultReadOnly: role.readOnly }).kind === 'accept') return attempt.index
  }
  return undefined
}

/** A role in words: what PostgreSQL says, and what that is in Azure's terms. */
export function roleWords(role: HostRole): string {
  if (!role.ok) return `not logged in to: ${role.failure}`
  const kind = role.inRecovery ? 'standby (pg_is_in_recovery() true: a read replica, read-only)' : `primary (pg_is_in_recovery() false${role.readOnly ? ', but read-only by default' : ''})`
  return `${kind}, PostgreSQL ${role.version}`
}

/**
 * Azure's conventions, for the hints: names and roles as Azure Database for PostgreSQL Flexible Server
 * documents them (zone-redundant HA, read replicas, virtual endpoints).
 */
export const AZURE_HA_NOTES: readonly string[] = [
  'Azure HA (zone-redundant or same-zone): the standby is not readable and has no name of its own; the server\'s name follows the primary at failover (its DNS answer changes), so one host is enough for HA.',
  'Azure read replicas: each replica is a server of its own (<replica>.postgres.database.azure.com), read-only (pg_is_in_recovery() true): list them after the primary with target_session_attrs=prefer-standby or read-only to read from them.',
  'Azure virtual endpoints (read replicas): the writer endpoint always points to the current primary, even after a replica is promoted; the read-only endpoint points to one replica (or the primary) at a time, without load balancing.',
]
