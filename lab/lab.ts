// The test lab: a throwaway "Azure" PKI and PostgreSQL servers that pose as
// mydemoserver.postgres.database.azure.com on 127.0.0.1, good ones and deliberately bad ones.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pg from 'pg'
import { createIntermediate, createRootCa, DAY_MS, issueServerCertificate, type Authority } from './pki.js'
import { DEBIAN_POSTGRES_15, hbaFor, removeTemplate, startPostgres, type HbaMethod, type RunningPostgres } from './postgres-server.js'
import { makeTempDir, removeTempDir } from './temp-dir.js'

export const AZURE_HOST = 'mydemoserver.postgres.database.azure.com'
export const SERVER_NAME = 'mydemoserver'

/** Time limit of every lab connection (connect; each admin query), so a stuck server fails a test instead of hanging it. */
export const LAB_CONNECT_TIMEOUT_MS = 10_000

/**
 * Which servers a lab starts. `p256Only` is a good server that offers only the P-256 key share
 * (PostgreSQL up to 17's default `ssl_ecdh_curve`), so a client whose first key share is X25519
 * pays a HelloRetryRequest. `pg15` is a good server run by Debian's PostgreSQL 15 (its defaults: no direct
 * TLS, P-256 only), where the package is installed. `x25519Only` offers only X25519, so a client whose first
 * key share is P-256 pays the HelloRetryRequest instead. `authMethods` is a good server whose pg_hba.conf admits each of
 * {@link AUTH_LOGINS} by its own method (and everyone else by SCRAM), and logs how each login was authenticated.
 */
export type ServerKind = 'good' | 'impostor' | 'wrongName' | 'expired' | 'tlsOff' | 'p256Only' | 'x25519Only' | 'pg15' | 'authMethods'

/**
 * The `authMethods` server's logins, one per pg_hba.conf method. The md5 role's password is stored as
 * MD5 (with a SCRAM verifier PostgreSQL would run SCRAM under an md5 line); `trust` asks for nothing.
 */
export const AUTH_LOGINS: Readonly<Record<HbaMethod, { readonly user: string; readonly password: string }>> = {
  'scram-sha-256': { user: 'auth_scram', password: 'scram-Pa55word' },
  md5: { user: 'auth_md5', password: 'md5-Pa55word' },
  password: { user: 'auth_cleartext', password: 'cleartext-Pa55word' },
  trust: { user: 'auth_trust', password: 'trust-Unused-Pa55word' },
}

/** The `authMethods` server's settings: PostgreSQL 18 logs each login's method ("connection authenticated: ... method=md5"). */
const AUTH_METHODS_SETTINGS: Readonly<Record<string, string>> = { log_connections: 'authentication' }

/** The server settings of a `p256Only` server (PostgreSQL 18's name; `ssl_ecdh_curve` is its alias). */
export const P256_ONLY_SETTINGS: Readonly<Record<string, string>> = { ssl_groups: 'prime256v1' }

/** Logins created on every TLS server of the lab. */
export const LOGINS = {
  flexible: { user: 'myadmin', password: 'flexible-Pa55word' },
  single: { user: `myadmin@${SERVER_NAME}`, password: 'single-Pa55word' },
} as const

export interface Lab {
  /** The lab's trusted root (what Azure's DigiCert/Microsoft roots are in production). */
  readonly root: Authority
  /** Path of a PEM file holding the lab root, for `sslrootcert`. */
  readonly rootPath: string
  /** The intermediate CA that issues the good servers' certificates (for more servers of the same lab). */
  readonly issuer: Authority
  readonly servers: Partial<Record<ServerKind, RunningPostgres>>
  server(kind: ServerKind): RunningPostgres
  /** Runs SQL as the superuser on a lab server (bypassing the SDK, which is what is under test). */
  admin(kind: ServerKind, sql: string, params?: unknown[]): Promise<pg.QueryResult>
  stop(): Promise<void>
}

/** Starts the requested servers in parallel with roles for both naming styles. */
export async function startLab(kinds: readonly ServerKind[]): Promise<Lab> {
  const root = await createRootCa('Lab Global Root G2')
  const intermediate = await createIntermediate(root, 'Lab TLS RSA CA 2026')
  const stranger = await createIntermediate(await createRootCa('Impostor Root CA'), 'Impostor Issuing CA')
  const dir = await makeTempDir('lab')
  const rootPath = join(dir, 'lab-root.pem')
  await writeFile(rootPath, root.pem)

  const goodCertificate = (): ReturnType<typeof issueServerCertificate> =>
    issueServerCertificate(intermediate, { dnsNames: [AZURE_HOST, `*.${AZURE_HOST.split('.').slice(1).join('.')}`] })
  const credentialsFor = async (kind: ServerKind): Promise<Parameters<typeof startPostgres>[0]> => {
    switch (kind) {
      case 'good': return { tls: await goodCertificate() }
      case 'p256Only': return { tls: await goodCertificate(), settings: P256_ONLY_SETTINGS }
      case 'x25519Only': return { tls: await goodCertificate(), settings: { ssl_groups: 'X25519' } }
      case 'pg15': return { tls: await goodCertificate(), binDir: DEBIAN_POSTGRES_15 }
      case 'impostor': return { tls: await issueServerCertificate(stranger, { dnsNames: [AZURE_HOST] }) }
      case 'wrongName': return { tls: await issueServerCertificate(intermediate, { dnsNames: ['otherserver.postgres.database.azure.com'] }) }
      case 'expired': return {
        tls: await issueServerCertificate(intermediate, {
          dnsNames: [AZURE_HOST], notBefore: new Date(Date.now() - 400 * DAY_MS), notAfter: new Date(Date.now() - 30 * DAY_MS),
        }),
      }
      case 'tlsOff': return { tls: false }
      case 'authMethods': return {
        tls: await goodCertificate(),
        settings: AUTH_METHODS_SETTINGS,
        hba: hbaFor([...Object.entries(AUTH_LOGINS).map(([method, login]) => ({ user: login.user, method: method as HbaMethod })), { method: 'scram-sha-256' }]),
      }
    }
  }
  const servers: Partial<Record<ServerKind, RunningPostgres>> = {}
  // Everything is stopped and removed even when one part fails; the first failure is reported after.
  const stop = async (): Promise<void> => {
    const results = await Promise.allSettled([...Object.values(servers).map((s) => s.stop()), removeTemplate(), removeTempDir(dir)])
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failure !== undefined) throw failure.reason
  }
  const started = await Promise.allSettled(kinds.map(async (kind) => { servers[kind] = await startPostgres(await credentialsFor(kind)) }))
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) {
    // Leave nothing running: a live postgres child would keep the test process from ever exiting.
    await stop()
    throw failed.reason
  }

  const server = (kind: ServerKind): RunningPostgres => {
    const s = servers[kind]
    if (s === undefined) throw new Error(`the lab has no ${kind} server`)
    return s
  }
  const admin = async (kind: ServerKind, sql: string, params: unknown[] = []): Promise<pg.QueryResult> => {
    // The expired and wrong-name servers still serve the harness: it checks the chain but not time or name.
    const ssl = kind === 'tlsOff' ? false : { ca: kind === 'impostor' ? undefined : root.pem, rejectUnauthorized: kind === 'good' || kind === 'p256Only' || kind === 'x25519Only' || kind === 'pg15' || kind === 'authMethods', checkServerIdentity: () => undefined }
    return asSuperuser(server(kind), ssl, sql, params)
  }
  try {
    await Promise.all(Object.keys(servers).map(async (kind) => {
      for (const { user, password } of Object.values(LOGINS)) {
        await admin(kind as ServerKind, `CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`)
      }
      if (kind === 'authMethods') {
        for (const [method, { user, password }] of Object.entries(AUTH_LOGINS)) {
          // PostgreSQL 18 warns that MD5 passwords are deprecated; it still stores and accepts them.
          const encryption = method === 'md5' ? 'md5' : 'scram-sha-256'
          await admin(kind, `SET password_encryption = '${encryption}'; CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`)
        }
      }
    }))
  } catch (err) {
    await stop()
    throw err
  }
  return { root, rootPath, issuer: intermediate, servers, server, admin, stop }
}

/**
 * Runs SQL as the superuser on any TLS server started with `startPostgres`. The harness does not check
 * the server's chain: it sets the stage, and the SDK's verification is what the tests examine.
 */
export async function adminQuery(server: RunningPostgres, sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  return asSuperuser(server, { rejectUnauthorized: false }, sql, params)
}

/** One query as the superuser on a fresh connection, time-limited, closed afterwards. */
function asSuperuser(server: RunningPostgres, ssl: pg.ClientConfig['ssl'], sql: string, params: unknown[]): Promise<pg.QueryResult> {
  return queryOnce({ host: server.host, port: server.port, user: server.superuser, password: server.superuserPassword, database: 'postgres', ssl }, sql, params)
}

/** One query on a fresh pg.Client, connect and query each limited to {@link LAB_CONNECT_TIMEOUT_MS}, closed afterwards. */
export async function queryOnce(config: pg.ClientConfig, sql: string, params?: unknown[]): Promise<pg.QueryResult> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS, query_timeout: LAB_CONNECT_TIMEOUT_MS })
  await client.connect()
  try {
    return await client.query(sql, params)
  } finally {
    await client.end()
  }
}

/** Creates the {@link LOGINS} roles on a server started outside a lab (with `startPostgres`). */
export async function createLogins(server: RunningPostgres): Promise<void> {
  for (const { user, password } of Object.values(LOGINS)) {
    await adminQuery(server, `CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`)
  }
}
