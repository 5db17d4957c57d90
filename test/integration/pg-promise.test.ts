// pg-promise with the SDK's configuration, against the lab's real PostgreSQL 18: pg-promise brings its
// own pg (it pins one), so its connections and errors never pass through the SDK's client; the
// resolved configuration makes the TLS verified, and explainPgConnectError makes the errors the SDK's.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pgPromise from 'pg-promise'
import { AzurePgError, createAzurePgClient, explainPgConnectError, resolveAzurePgConfig, type AzurePgClientConfig, type AzurePgOptions } from '../../src/index.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, LOGINS, startLab, type Lab, type ServerKind } from '../../lab/lab.js'
import { errorText } from '../support/assert-error.js'

let lab: Lab
const pgp = pgPromise({ noWarnings: true })
before(async () => { lab = await startLab(['good', 'impostor']) })
after(async () => {
  pgp.end()
  await lab?.stop()
})

/** Options that reach a lab server by name through hostaddr, as a private endpoint is reached. */
function to(kind: ServerKind, extra: AzurePgOptions = {}): AzurePgOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server(kind).port, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS, ...extra,
  }
}

/**
 * pg-promise's database for a resolved configuration. The cast: pg-promise types a password function
 * as `(() => string) | (() => Promise<string>)`, and the SDK's (pg's) type says `() => string | Promise<string>`.
 */
const database = (config: AzurePgClientConfig): ReturnType<typeof pgp> => pgp(config as Parameters<typeof pgp>[0])

/** What pg-promise's own connect() rejects with: the raw error, before any explanation. */
async function rawConnectError(db: ReturnType<typeof pgp>): Promise<unknown> {
  try {
    const c = await db.connect()
    c.done()
  } catch (err) {
    return err
  }
  assert.fail('connect() succeeded')
}

describe('pg-promise with resolveAzurePgConfig', () => {
  it('queries over verified TLS (pg_stat_ssl), with pg-promise\'s own pg', async () => {
    const db = database(await resolveAzurePgConfig(to('good')))
    const row = await db.one<{ current_user: string; ssl: boolean; version: string }>(
      'SELECT current_user, s.ssl, s.version FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')
    assert.equal(row.current_user, 'myadmin')
    assert.equal(row.ssl, true)
    assert.match(row.version, /^TLSv1\.[23]$/)
    assert.equal(await db.one('SELECT count(*)::int AS n FROM generate_series(1, 1000)', [], (r: { n: number }) => r.n), 1000)
  })

  it('a wrong password: the raw pg error becomes AUTH_FAILED naming the server, never the password', async () => {
    const db = database(await resolveAzurePgConfig(to('good', { password: 'Wrong-Pa55' })))
    const raw = await rawConnectError(db)
    assert.ok(!(raw instanceof AzurePgError), 'precondition: pg-promise\'s error is pg\'s own')
    assert.equal((raw as { code?: unknown }).code, '28P01')
    const e = explainPgConnectError(raw, db.$cn)
    assert.ok(e instanceof AzurePgError)
    assert.equal(e.code, 'AUTH_FAILED')
    assert.equal(e.message, `The server at ${AZURE_HOST} (127.0.0.1):${lab.server('good').port} rejected the login of "myadmin": password authentication failed for user "myadmin".`)
    assert.equal(e.hint, "Check the user name and password; on Single Server also pass serverType: 'single' (user@server).")
    assert.equal(e.cause, raw)
    assert.doesNotMatch(errorText(e), /Wrong-Pa55/)
  })

  it('says what an SDK client says for the same failure (the same row of the same table)', async () => {
    const options = to('good', { password: 'Wrong-Pa55' })
    const ours = explainPgConnectError(await rawConnectError(database(await resolveAzurePgConfig(options))), options)
    const client = await createAzurePgClient(options)
    const sdk = await client.connect().then(() => assert.fail('connected'), (err: unknown) => err)
    assert.ok(sdk instanceof AzurePgError)
    assert.deepEqual([ours.code, ours.reason, ours.hint], [sdk.code, sdk.reason, sdk.hint])
    // The SDK's client also knows the phase, and says it in a sentence after the same text.
    assert.equal(sdk.message, `${ours.message} It failed during authentication.`)
  })

  it('an impostor certificate: pg-promise refuses it, and the error becomes TLS_VERIFY_FAILED (unknown-ca)', async () => {
    const config = await resolveAzurePgConfig(to('impostor'))
    const raw = await rawConnectError(database(config))
    assert.ok(!(raw instanceof AzurePgError))
    const e = explainPgConnectError(raw, config)
    assert.deepEqual([e.code, e.reason], ['TLS_VERIFY_FAILED', 'unknown-ca'])
    assert.match(e.message, new RegExp(`^The server certificate at ${AZURE_HOST.replace(/\./g, '\\.')} \\(127\\.0\\.0\\.1\\):${lab.server('impostor').port} does not chain to a trusted root \\(trusted: the configured roots; [A-Z_]+\\)\\.$`))
    assert.equal(e.cause, raw)
  })
})

// examples/orm/pg-promise.ts, run as a user runs it (its own process, settings from PG* only). Here and
// not in examples.test.ts, whose file already runs close to the per-file time limit.
const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

async function example(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  // A clean environment: the machine's own PG* variables must not leak into what is tested.
  const keep = ['PATH', 'HOME', 'TMPDIR', 'AZURE_PG_TLS_LAB_RUN'].filter((k) => process.env[k] !== undefined)
  const base = Object.fromEntries(keep.map((k) => [k, process.env[k]]))
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'examples/orm/pg-promise.ts'], { cwd: root, env: { ...base, ...env }, timeout: 30_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

describe('examples/orm/pg-promise.ts', () => {
  const env = (kind: ServerKind, password: string = LOGINS.flexible.password): Record<string, string> => ({
    PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(lab.server(kind).port), PGDATABASE: 'postgres',
    PGUSER: LOGINS.flexible.user, PGPASSWORD: password, PGSSLROOTCERT: lab.rootPath,
  })

  it('connects over verified TLS; a wrong password is AUTH_FAILED and an impostor TLS_VERIFY_FAILED, with the fix', async () => {
    const [ok, wrong, impostor] = await Promise.all([example(env('good')), example(env('good', 'Wrong-Pa55')), example(env('impostor'))])
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.match(ok.stdout, /^pg-promise: ssl=true$/m)
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr)
    assert.match(wrong.stderr, /^AUTH_FAILED: The server at mydemoserver\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ rejected the login of "myadmin": /m)
    assert.match(wrong.stderr, /^fix: Check the user name and password/m)
    assert.equal(impostor.code, 1, impostor.stdout + impostor.stderr)
    assert.match(impostor.stderr, /^TLS_VERIFY_FAILED: The server certificate at mydemoserver\.postgres\.database\.azure\.com \(127\.0\.0\.1\):\d+ does not chain to a trusted root/m)
    for (const r of [ok, wrong, impostor]) assert.doesNotMatch(r.stdout + r.stderr, /Wrong-Pa55|flexible-Pa55word/)
  })
})
