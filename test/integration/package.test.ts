// The packed tarball, installed into a new project as a user would, against the embedded PostgreSQL 18:
// an ES module app, a CommonJS app, a TypeScript app compiled as CommonJS (NestJS-style), and the bin
// through npx. This is the package users get, not the sources the other tests import. (Typed code against
// the tarball: package-types.test.ts.)
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startMirror, type Mirror } from '../../lab/cert-mirror.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'
import { cleanEnv, exec, installPackedApp, manifest } from '../support/packed-app.js'

const SSL_QUERY = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'

const ESM_APP = `import { createAzurePgClient, AzurePgError } from 'azure-pg-tls'
const client = await createAzurePgClient()   // PGHOST, PGHOSTADDR, PGUSER, ... and PGSSLROOTCERT
await client.connect()
const { rows } = await client.query(${JSON.stringify(SSL_QUERY)})
await client.end()
console.log(JSON.stringify({ ssl: rows[0].ssl, loaded: import.meta.resolve('azure-pg-tls'), errorClass: typeof AzurePgError }))
`

// Also downloads Azure's roots through a mirror on 127.0.0.1: node-fetch 3 is an ES module, so this proves the
// CommonJS build loads it with import(), not require(), which Node before 20.19 cannot do with an ES module.
const CJS_APP = `const { createAzurePgClient, resolveAzurePgConfig, AzurePgError } = require('azure-pg-tls')
async function main() {
  const downloaded = await resolveAzurePgConfig({
    host: 'x.postgres.database.azure.com', user: 'u', env: {},
    certs: { source: 'download', mirror: process.env.MIRROR_URL, cacheDir: process.env.CACHE_DIR },
  })
  const client = await createAzurePgClient()
  await client.connect()
  const { rows } = await client.query(${JSON.stringify(SSL_QUERY)})
  await client.end()
  console.log(JSON.stringify({ ssl: rows[0].ssl, loaded: require.resolve('azure-pg-tls'), downloadedRoots: downloaded.ssl.ca.length, errorClass: typeof AzurePgError }))
}
main().catch((err) => { console.error(err.code ?? '', err.message); process.exitCode = 1 })
`

const TS_APP = `import { createAzurePgClient, AzurePgError, type AzurePgOptions } from 'azure-pg-tls'

async function main(): Promise<void> {
  const options: AzurePgOptions = { application_name: 'ts-commonjs-app' }
  const client = await createAzurePgClient(options)
  await client.connect()
  const result = await client.query<{ ssl: boolean }>(${JSON.stringify(SSL_QUERY)})
  const ssl: boolean | undefined = result.rows[0]?.ssl
  await client.end()
  console.log(JSON.stringify({ ssl, loaded: require.resolve('azure-pg-tls'), errorClass: AzurePgError.name }))
}

main().catch((err: unknown) => {
  console.error(err instanceof AzurePgError ? \`\${err.code}: \${err.message}\` : err)
  process.exitCode = 1
})
`

// Sequelize, as its users write it, with the drop-in module from the installed package (CommonJS).
const SEQUELIZE_APP = `const { Sequelize, QueryTypes } = require('sequelize')
const pg = require('azure-pg-tls/pg')
async function attempt(password) {
  const sequelize = new Sequelize(process.env.PGDATABASE, process.env.PGUSER, password, {
    host: process.env.PGHOST, port: Number(process.env.PGPORT), dialect: 'postgres', dialectModule: pg, logging: false,
  })
  try {
    const rows = await sequelize.query(${JSON.stringify(SSL_QUERY)}, { type: QueryTypes.SELECT })
    return { ssl: rows[0].ssl }
  } catch (err) {
    const cause = err.parent ?? err.original ?? err
    return { error: cause.name, code: cause.code }
  } finally {
    await sequelize.close()
  }
}
async function main() {
  const good = await attempt(process.env.PGPASSWORD)
  const wrong = await attempt('not-the-password')
  console.log(JSON.stringify({ good, wrong, loaded: require.resolve('azure-pg-tls/pg') }))
}
main().catch((err) => { console.error(err); process.exitCode = 1 })
`

const TS_CONFIG = {
  compilerOptions: {
    module: 'commonjs', moduleResolution: 'node', target: 'ES2022', strict: true, esModuleInterop: true,
    skipLibCheck: false, types: ['node'], rootDir: 'src', outDir: 'dist',
  },
  include: ['src'],
}

describe('the packed tarball installed into a new project', { timeout: 600_000 }, () => {
  let tmp: string | undefined
  let app: string
  let lab: Lab | undefined
  let mirror: Mirror | undefined
  let pgEnv: NodeJS.ProcessEnv

  before(async () => {
    tmp = await makeTempDir('package')
    const dir = tmp
    // What a TypeScript user adds beside the package: the compiler and the types of node and pg.
    // And an ORM that takes a driver module, for azure-pg-tls/pg.
    const install = (async () => { app = await installPackedApp(dir, ['typescript', '@types/node', '@types/pg', 'sequelize']) })()
    const servers = (async () => {
      lab = await startLab(['good'])
      mirror = await startMirror()
    })()
    await Promise.all([install, servers])
    if (lab === undefined) throw new Error('the lab did not start')
    pgEnv = cleanEnv({
      PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(lab.server('good').port), PGDATABASE: 'postgres',
      PGUSER: LOGINS.flexible.user, PGPASSWORD: LOGINS.flexible.password, PGSSLROOTCERT: lab.rootPath,
    })
  }, { timeout: 540_000 })

  after(async () => {
    await mirror?.close()
    await lab?.stop()
    if (tmp !== undefined) await removeTempDir(tmp)
  })

  it('an ES module app imports it (dist/esm) and connects over TLS', async () => {
    await writeFile(join(app, 'esm-app.mjs'), ESM_APP)
    const out = JSON.parse(await exec(process.execPath, ['esm-app.mjs'], app, pgEnv)) as Record<string, unknown>
    assert.equal(out['ssl'], true)
    assert.match(String(out['loaded']), /\/node_modules\/azure-pg-tls\/dist\/esm\/index\.js$/)
    assert.equal(out['errorClass'], 'function')
  })

  it('a CommonJS app requires it (dist/cjs), downloads roots through node-fetch, and connects over TLS', async () => {
    assert.ok(mirror !== undefined)
    await writeFile(join(app, 'cjs-app.cjs'), CJS_APP)
    // Where this Node can require() ES modules (20.19+), turn that off: the package must not depend on it.
    const flags = process.allowedNodeEnvironmentFlags.has('--no-experimental-require-module') ? ['--no-experimental-require-module'] : []
    const env = { ...pgEnv, MIRROR_URL: mirror.url, CACHE_DIR: join(app, 'root-cache') }
    const out = JSON.parse(await exec(process.execPath, [...flags, 'cjs-app.cjs'], app, env)) as Record<string, unknown>
    assert.equal(out['ssl'], true)
    assert.match(String(out['loaded']), /\/node_modules\/azure-pg-tls\/dist\/cjs\/index\.js$/)
    assert.equal(out['downloadedRoots'], 3)
    assert.equal(mirror.total(), 3, 'each default root was downloaded from the mirror once')
    assert.equal(out['errorClass'], 'function')
  })

  it('a TypeScript app compiled as CommonJS (moduleResolution node) type-checks, runs and connects over TLS', async () => {
    await writeFile(join(app, 'tsconfig.json'), `${JSON.stringify(TS_CONFIG, null, 2)}\n`)
    await writeFile(join(app, 'src', 'main.ts'), TS_APP)
    await exec(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app, cleanEnv(), 120_000)
    const compiled = await readFile(join(app, 'dist', 'main.js'), 'utf8')
    assert.match(compiled, /require\("azure-pg-tls"\)/, 'compiled to CommonJS')
    const out = JSON.parse(await exec(process.execPath, ['dist/main.js'], app, pgEnv)) as Record<string, unknown>
    assert.deepEqual(out, { ssl: true, loaded: join(app, 'node_modules', 'azure-pg-tls', 'dist', 'cjs', 'index.js'), errorClass: 'AzurePgError' })
  })

  it('azure-pg-tls/pg drives Sequelize over verified TLS, and a wrong password is an AzurePgError AUTH_FAILED', async () => {
    await writeFile(join(app, 'sequelize-app.cjs'), SEQUELIZE_APP)
    const out = JSON.parse(await exec(process.execPath, ['sequelize-app.cjs'], app, pgEnv)) as { good: unknown; wrong: unknown; loaded: string }
    assert.deepEqual(out.good, { ssl: true })
    assert.deepEqual(out.wrong, { error: 'AzurePgError', code: 'AUTH_FAILED' })
    assert.match(out.loaded, /node_modules\/azure-pg-tls\/dist\/cjs\/connect\/pg\.js$/)
  })

  it('npx azure-pg-tls --version prints the package version; the doctor passes every step', async () => {
    // npm_config_yes=false: npx must find the installed bin, never offer to download a package of that name.
    const npxEnv = { npm_config_yes: 'false' }
    assert.equal((await exec('npx', ['azure-pg-tls', '--version'], app, cleanEnv(npxEnv))).trim(), manifest.version)
    const report = JSON.parse(await exec('npx', ['azure-pg-tls', 'doctor', '--json'], app, { ...pgEnv, ...npxEnv })) as { ok: boolean; steps: { step: string; status: string }[] }
    assert.equal(report.ok, true)
    assert.equal(report.steps.find((s) => s.step === 'authentication')?.status, 'pass', 'PGPASSWORD given: the login was tested')
    assert.equal(report.steps.find((s) => s.step === 'server')?.status, 'pass')
  })
})
