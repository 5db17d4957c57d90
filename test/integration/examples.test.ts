// Runs the example scripts and the built package as a user would, as separate processes (the ORM
// examples are in examples-orm.test.ts).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { envWith, example, labDatabaseUrl, labEnv, root, run } from '../support/examples.js'
import { ensureFreshBuild } from '../support/fresh-build.js'
import { assertAzureIdentityAbsent } from '../support/preconditions.js'

describe('examples', () => {
  let lab: Lab
  let pgEnv: Record<string, string>
  before(async () => {
    lab = await startLab(['good'])
    pgEnv = labEnv(lab)
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

  it('orm/typeorm-url.ts refuses a url with sslmode=disable before connecting', async () => {
    const r = await example('orm/typeorm-url.ts', { AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: labDatabaseUrl(lab, 'disable') })
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
