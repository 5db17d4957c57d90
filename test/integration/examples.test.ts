// Runs the example scripts and the built package as a user would, as separate processes.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { ensureFreshBuild } from '../support/fresh-build.js'
import { assertAzureIdentityAbsent } from '../support/preconditions.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

/** A clean environment: the machine's own PG* variables must not leak into what is tested. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The lab's run tag goes along, so lab/check-leftovers.mjs also sees what the demo's own lab leaves.
  const keep = ['PATH', 'HOME', 'TMPDIR', 'AZURE_PG_TLS_LAB_RUN'].filter((k) => process.env[k] !== undefined)
  return { ...Object.fromEntries(keep.map((k) => [k, process.env[k]])), ...extra }
}

async function example(name: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `examples/${name}`], { cwd: root, env: envWith(env), timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

describe('examples', () => {
  let lab: Lab
  let pgEnv: Record<string, string>
  before(async () => {
    lab = await startLab(['good'])
    pgEnv = {
      PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(lab.server('good').port), PGDATABASE: 'postgres',
      PGUSER: 'myadmin', PGPASSWORD: LOGINS.single.password, PGSSLROOTCERT: lab.rootPath, AZURE_PG_TLS_SERVER_TYPE: 'single',
    }
  })
  after(async () => { await lab?.stop() })

  it('quickstart.ts connects from the environment', async () => {
    const r = await example('quickstart.ts', pgEnv)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^connected as myadmin@mydemoserver over TLSv1\.[23], certificate and host name verified$/m)
  })

  it('quickstart.ts prints one line with the fix when the setting is insecure', async () => {
    const r = await example('quickstart.ts', { ...pgEnv, PGSSLMODE: 'disable' })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^INSECURE_TLS: sslmode "disable" \(from environment variable PGSSLMODE\)/m)
    assert.match(r.stderr, /^fix: /m)
    assert.doesNotMatch(r.stderr + r.stdout, new RegExp(LOGINS.single.password))
  })

  it('pool-for-orms.ts runs a pool and hands out a verified config', async () => {
    const r = await example('pool-for-orms.ts', pgEnv)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^pool: [1-9]\d* TLS session\(s\) on the server$/m)
    assert.match(r.stdout, new RegExp(`^resolved config: ssl=true, rejectUnauthorized=true, servername=${AZURE_HOST.replace(/\./g, '\\.')}$`, 'm'))
  })

  it('otel/tracing.ts prints the span tree of one pooled query: the SDK\'s connect with its phases, pg\'s spans, the host name', async () => {
    const r = await example('otel/tracing.ts', pgEnv)
    assert.equal(r.code, 0, r.stdout + r.stderr)
    const host = AZURE_HOST.replace(/\./g, '\\.')
    assert.match(r.stdout, /^request \(/m)
    assert.match(r.stdout, new RegExp(`^ {2}pg-pool\\.connect \\(.*server\\.address=${host}`, 'm'))
    assert.match(r.stdout, new RegExp(`^ {4}connect \\(.*server\\.address=${host} tls\\.protocol\\.version=1\\.[23]`, 'm'))
    // tls-request only where the SSLRequest was used: a server already known to take direct TLS goes without.
    assert.match(r.stdout, /^ {6}tcp \(.*\n( {6}tls-request \(.*\n)? {6}tls-handshake \(.*\n {6}authentication \(/m)
    assert.match(r.stdout, new RegExp(`^ {2}pg\\.query:SELECT postgres \\(.*server\\.address=${host}`, 'm'))
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(LOGINS.single.password))
  })

  it('entra.ts says in one line which package to install when @azure/identity is missing', async () => {
    assertAzureIdentityAbsent()
    const r = await example('entra.ts', { PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: pgEnv['PGPORT'] ?? '', PGSSLROOTCERT: lab.rootPath })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^ENTRA_UNAVAILABLE: entra: true needs the package @azure\/identity/m)
    assert.match(r.stderr, /^fix: Run `npm install @azure\/identity`/m)
  })

  // examples/orm: each library as its users write it, on the same lab server. Each file must report
  // pg_stat_ssl's ssl=true, and turn a wrong password into the AzurePgError AUTH_FAILED.
  const dbUrl = (sslmode: string): string =>
    `postgresql://myadmin:${LOGINS.single.password}@${AZURE_HOST}:${pgEnv['PGPORT'] ?? ''}/postgres?sslmode=${sslmode}&hostaddr=127.0.0.1&sslrootcert=${encodeURIComponent(lab.rootPath)}`
  const ORMS: ReadonlyArray<readonly [file: string, label: string, env: () => Record<string, string>, wrong: () => Record<string, string>]> = [
    ['pg.ts', 'pg', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['knex.ts', 'knex', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['drizzle.ts', 'drizzle', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['kysely.ts', 'kysely', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['typeorm.ts', 'typeorm', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['typeorm-url.ts', 'typeorm \\(url\\)', () => ({ AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: dbUrl('require') }),
      () => ({ AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: dbUrl('require').replace(LOGINS.single.password, 'Wrong-Pa55') })],
    ['sequelize.ts', 'sequelize', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['mikro-orm.ts', 'mikro-orm', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['prisma.ts', 'prisma \\(adapter-pg\\)', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
  ]
  for (const [file, label, env, wrong] of ORMS) {
    it(`orm/${file} connects over verified TLS, and a wrong password is AUTH_FAILED`, async () => {
      const [ok, bad] = await Promise.all([example(`orm/${file}`, env()), example(`orm/${file}`, wrong())])
      assert.equal(ok.code, 0, ok.stdout + ok.stderr)
      assert.match(ok.stdout, new RegExp(`^${label}: ssl=true$`, 'm'))
      assert.equal(bad.code, 1, bad.stdout + bad.stderr)
      assert.match(bad.stderr, /^AUTH_FAILED: /m)
      assert.doesNotMatch(bad.stderr + bad.stdout, /Wrong-Pa55|single-Pa55word/)
    })
  }

  it('orm/typeorm-url.ts refuses a url with sslmode=disable before connecting', async () => {
    const r = await example('orm/typeorm-url.ts', { AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: dbUrl('disable') })
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^INSECURE_TLS: sslmode "disable" \(from connection string key "sslmode"\)/m)
  })

  it('demo.ts (npm run demo) shows one verified connection and three refusals, and exits 0', async () => {
    const r = await example('demo.ts', {})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /✓ verified connection as myadmin@mydemoserver/)
    assert.match(r.stdout, /chain\[1\] Lab TLS RSA CA 2026/)
    assert.match(r.stdout, /✓ sslmode=disable: refused with INSECURE_TLS/)
    assert.match(r.stdout, /connections opened to the server: 0/)
    assert.match(r.stdout, /✓ impostor server .*: refused with TLS_VERIFY_FAILED \(unknown-ca\)/)
    assert.match(r.stdout, /✓ wrong host name .*: refused with TLS_VERIFY_FAILED \(hostname\)/)
    assert.doesNotMatch(r.stdout, /✗/)
  })
})

describe('the built package', () => {
  it('loads from dist/esm through the exports map (import) and finds its bundled roots', async () => {
    await ensureFreshBuild()
    const script = `
      const m = await import('azure-pg-tls');
      const c = await m.resolveAzurePgConfig({ host: '${AZURE_HOST}', user: 'u', env: {}, certs: { source: 'bundled' } });
      console.log(import.meta.resolve('azure-pg-tls'), c.ssl.ca.length, typeof m.AzurePgError, typeof m.createAzurePgPool);`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root, env: envWith({}) })
    assert.match(stdout.trim(), /\/dist\/esm\/index\.js 3 function function$/)
  })

  it('loads from dist/cjs through the exports map (require) and finds its bundled roots', async () => {
    await ensureFreshBuild()
    const script = `
      const m = require('azure-pg-tls');
      m.resolveAzurePgConfig({ host: '${AZURE_HOST}', user: 'u', env: {}, certs: { source: 'bundled' } })
        .then((c) => console.log(require.resolve('azure-pg-tls'), c.ssl.ca.length, typeof m.AzurePgError, typeof m.createAzurePgPool));`
    const { stdout } = await run(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: root, env: envWith({}) })
    assert.match(stdout.trim(), /\/dist\/cjs\/index\.js 3 function function$/)
  })
})
