// Starts Debian's PgBouncer in front of a lab PostgreSQL, set up as Azure Flexible Server's built-in
// PgBouncer is: TLS required from clients, transaction pooling, SCRAM. Config, log and certificates live
// in a temporary folder that stop() removes. As root, PgBouncer (which refuses root) runs as the lab's
// unprivileged service user, like postgres does.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { adminQuery, queryOnce } from './lab.js'
import { freePort, serviceUser, type RunningPostgres, type TlsFiles } from './postgres-server.js'
import { PGBOUNCER_BIN } from './system-requirements.js'
import { makeTempDir, removeTempDir } from './temp-dir.js'

export interface PgBouncerOptions {
  /** The PostgreSQL it pools for (database `postgres`). */
  readonly upstream: RunningPostgres
  /** The certificate chain and key PgBouncer presents to clients. */
  readonly tls: TlsFiles
  /** Roles that may log in through it; their SCRAM secrets are copied from the upstream's pg_authid. */
  readonly users: readonly string[]
  /** PEM the upstream's certificate is checked against (verify-ca); without it the inner leg is only encrypted. */
  readonly upstreamCaPem?: string
  /** Server connections per user and database (default 5). */
  readonly poolSize?: number
}

export interface RunningPgBouncer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Runs a command on PgBouncer's admin console (SHOW CLIENTS, SHOW POOLS, …) over TLS. */
  admin(command: string): Promise<pg.QueryResult>
  /** Recent log output, for failure messages. */
  log(): string
  stop(): Promise<void>
}

const ADMIN_USER = 'lab_pgbouncer_admin'
const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`

const live = new Set<ChildProcess>()
process.once('exit', () => { for (const child of live) child.kill('SIGKILL') })

/** Starts PgBouncer on a free port of 127.0.0.1; resolves once it listens. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  // auth_type scram-sha-256 with the server's SCRAM secrets: PgBouncer checks the client's proof and
  // reuses the client's SCRAM keys to log in upstream, so no plaintext password is stored anywhere.
  const secrets = await adminQuery(options.upstream,
    "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY($1) AND rolpassword LIKE 'SCRAM-SHA-256$%'", [options.users])
  const found = new Set(secrets.rows.map((r: { rolname: string }) => r.rolname))
  const missing = options.users.filter((u) => !found.has(u))
  if (missing.length > 0) throw new Error(`no SCRAM secret upstream for ${missing.join(', ')}`)
  const adminPassword = randomBytes(18).toString('base64url')

  const dir = await makeTempDir('pgbouncer')
  const owner = await serviceUser()
  try {
    await writeFile(join(dir, 'userlist.txt'), [
      ...secrets.rows.map((r: { rolname: string; rolpassword: string }) => `${quote(r.rolname)} ${quote(r.rolpassword)}`),
      // The admin console's login exists only here; a plaintext entry is fine for it under scram-sha-256.
      `${quote(ADMIN_USER)} ${quote(adminPassword)}`,
    ].join('\n') + '\n', { mode: 0o600 })
    await writeFile(join(dir, 'server.crt'), options.tls.certChainPem)
    await writeFile(join(dir, 'server.key'), options.tls.keyPem, { mode: 0o600 })
    if (options.upstreamCaPem !== undefined) await writeFile(join(dir, 'upstream-ca.pem'), options.upstreamCaPem)
    if (owner !== undefined) {
      await chown(dir, owner.uid, owner.gid)
      for (const f of await readdir(dir)) await chown(join(dir, f), owner.uid, owner.gid)
    }
    await chmod(dir, 0o700)
  } catch (err) {
    await removeTempDir(dir)
    throw err
  }

  // Parallel starts can be handed the same free port; PgBouncer then fails to bind, so retry.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    try {
      return await launch(dir, port, options, owner, adminPassword)
    } catch (err) {
      if (attempt >= 5 || !/Address already in use/i.test(String(err))) {
        await removeTempDir(dir)
        throw err
      }
    }
  }
}

async function launch(dir: string, port: number, options: PgBouncerOptions, owner: { uid: number; gid: number } | undefined, adminPassword: string): Promise<RunningPgBouncer> {
  const { upstream } = options
  const config = join(dir, 'pgbouncer.ini')
  await writeFile(config, [
    '[databases]',
    `postgres = host=${upstream.host} port=${upstream.port} dbname=postgres`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'pidfile =',
    'auth_type = scram-sha-256',
    `auth_file = ${join(dir, 'userlist.txt')}`,
    `admin_users = ${ADMIN_USER}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 5}`,
    'max_client_conn = 200',
    'client_tls_sslmode = require',
    `client_tls_cert_file = ${join(dir, 'server.crt')}`,
    `client_tls_key_file = ${join(dir, 'server.key')}`,
    'client_tls_protocols = tlsv1.2,tlsv1.3',
    ...(options.upstreamCaPem !== undefined
      ? ['server_tls_sslmode = verify-ca', `server_tls_ca_file = ${join(dir, 'upstream-ca.pem')}`]
      : ['server_tls_sslmode = require']),
    // node-postgres sends no extra startup parameters by default; JDBC and others send this one.
    'ignore_startup_parameters = extra_float_digits',
    '',
  ].join('\n'))
  if (owner !== undefined) await chown(config, owner.uid, owner.gid)

  const logs: string[] = []
  const child = spawn(PGBOUNCER_BIN, [config], { stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) })
  const log = (): string => logs.join('').slice(-4000)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`pgbouncer did not start in 15 s:\n${log()}`)) }, 15_000)
    const onData = (chunk: Buffer): void => {
      logs.push(chunk.toString())
      if (/process up|listening on 127\.0\.0\.1/.test(logs.join(''))) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`pgbouncer exited with ${String(code)} while starting:\n${log()}`)) })
  })
  live.add(child)
  child.once('exit', () => live.delete(child))

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // SIGTERM is PgBouncer's immediate shutdown; SIGKILL if even that does not end it.
      child.kill('SIGTERM')
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(kill)
    }
    await removeTempDir(dir)
  }
  // The harness reads PgBouncer's state; it does not verify PgBouncer's certificate (the tests do that).
  const admin = (command: string): Promise<pg.QueryResult> => queryOnce({
    host: '127.0.0.1', port, user: ADMIN_USER, password: adminPassword, database: 'pgbouncer', ssl: { rejectUnauthorized: false },
  }, command)
  return { host: '127.0.0.1', port, admin, log, stop }
}
