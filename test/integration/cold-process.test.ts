// New processes, as a container or a serverless function starts them (issue 20), run against the built
// package (dist/, as users get it) by bench/cold-child.mjs: what a warm cache folder buys the first
// connection, that a process ending itself keeps what it learned, and what the import loads. Every
// assertion counts events (connections through the proxy, files, modules), never time.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startDelayProxy, type DelayProxy } from '../../lab/delay-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { ensureFreshBuild } from '../support/fresh-build.js'
import { tempDirs } from '../support/temp-dir.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../', import.meta.url))
const CHILD = join(repo, 'bench', 'cold-child.mjs')
const tempDir = tempDirs('coldproc')

let lab: Lab
let proxy: DelayProxy
let caFile: string

before(async () => {
  ;[lab] = await Promise.all([startLab(['good']), ensureFreshBuild()])
  proxy = await startDelayProxy({ upstreamPort: lab.server('good').port, delayMs: 0 })
  caFile = join(await tempDir(), 'ca.pem')
  await writeFile(caFile, lab.root.pem)
})
after(async () => {
  await proxy?.close()
  await lab?.stop()
})

/** One new process of the SDK: import, one connection through the proxy, SELECT 1, end. */
async function sdkProcess(cacheDir: string, extra: Record<string, string> = {}): Promise<void> {
  await run(process.execPath, [CHILD], {
    cwd: repo, timeout: 60_000,
    env: {
      PATH: process.env['PATH'], COLD_WHO: 'sdk', COLD_PORT: String(proxy.port), COLD_HOST: AZURE_HOST, COLD_CA_FILE: caFile,
      COLD_USER: LOGINS.flexible.user, COLD_PASSWORD: LOGINS.flexible.password, COLD_CACHE_DIR: cacheDir, ...extra,
    },
  })
}

describe('a new process', () => {
  it('with the cache folder an earlier process left goes in with direct TLS on its first connection to PostgreSQL 18', async () => {
    const cacheDir = await tempDir()
    proxy.reset()
    await sdkProcess(cacheDir) // a new container: nothing known, the SSLRequest
    await sdkProcess(cacheDir) // the next one, on the same disk
    assert.deepEqual(proxy.connections().map((c) => c.directTls), [false, true])
  })

  it('that ends itself (process.exit) right after its first connection still leaves what it learned, and no temporary file', async () => {
    const cacheDir = await tempDir()
    proxy.reset()
    await sdkProcess(cacheDir, { COLD_EXIT: '1' })
    assert.deepEqual(await readdir(cacheDir), ['learned-servers.json'])
    await sdkProcess(cacheDir, { COLD_EXIT: '1' })
    assert.deepEqual(proxy.connections().map((c) => c.directTls), [false, true])
  })
})

describe('importing the package', () => {
  /**
   * What a process loads: the package's files, ES modules (seen by a loader hook) and CommonJS (require's
   * cache), each esbuild module in them (by the `// src/…` line esbuild writes before it), and Node's
   * built-in modules. `script` prints the built-ins and require's cache as JSON.
   */
  async function loadedBy(script: string): Promise<{ files: string[]; modules: string[]; builtins: string[]; urls: string[] }> {
    const hooks = `export async function load(url, context, next) { process.stderr.write('LOADED ' + url + '\\n'); return next(url, context) }`
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}))`
    const { stdout, stderr } = await run(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', `${script}
      const { createRequire } = await import('node:module')
      console.log(JSON.stringify({ builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)), required: Object.keys(createRequire(import.meta.url).cache) }))`],
    { cwd: repo, timeout: 60_000, env: { PATH: process.env['PATH'] } })
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { builtins: string[]; required: string[] }
    const urls = stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice('LOADED '.length))
    const files = [...new Set([...urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)), ...report.required])].filter((f) => f.startsWith(join(repo, 'dist')))
    const modules = (await Promise.all(files.map((f) => readFile(f, 'utf8')))).flatMap((text) => [...text.matchAll(/^\/\/ (src\/\S+\.ts)$/gm)].map((m) => m[1] ?? ''))
    return { files: files.map((f) => f.slice(repo.length)).sort(), modules, builtins: report.builtins, urls: [...urls, ...report.required] }
  }

  const PLAIN_CLIENT = `
    const { createAzurePgClient } = await import('azure-pg-tls')
    await createAzurePgClient({ host: '${AZURE_HOST}', user: 'myadmin', password: 'x', env: {}, certs: { source: 'bundled' } })`

  it('loads two files of its own (the entry and the library bundle), with none of the doctor and CLI modules', async () => {
    const { files, modules } = await loadedBy(PLAIN_CLIENT)
    assert.deepEqual(files, ['dist/cjs/azure-pg-tls.js', 'dist/esm/index.js'])
    assert.ok(modules.includes('src/connect/client.ts') && modules.includes('src/connect/prepare.ts'), modules.join(', '))
    assert.deepEqual(modules.filter((m) => m.startsWith('src/doctor/') || m.startsWith('src/cli/')), [])
  })

  it('imported and required in one process, is one copy: one AzurePgError class', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `
      const { createRequire } = await import('node:module')
      const imported = await import('azure-pg-tls')
      const dropIn = await import('azure-pg-tls/pg')
      const required = createRequire(import.meta.url)('azure-pg-tls')
      console.log(imported.AzurePgError === required.AzurePgError, dropIn.default.Client.prototype instanceof imported.AzurePgClient)`], { cwd: repo, timeout: 60_000, env: { PATH: process.env['PATH'] } })
    assert.equal(stdout.trim(), 'true true')
  })

  it('loads neither node-fetch, nor node:http/https, nor undici for a client that downloads nothing', async () => {
    const { builtins, urls } = await loadedBy(PLAIN_CLIENT)
    assert.deepEqual(urls.filter((u) => u.includes('node-fetch') || u.includes('@azure/identity')), [])
    assert.deepEqual(builtins.filter((b) => b === 'http' || b === 'https' || b.includes('undici')), [])
  })

  it('loads pg without its Cloudflare probe loading undici, leaves the globals as they were, and shares pg with the process', async () => {
    // pg alone (on Node 20, which has no global navigator) constructs a Response at load: undici, node:http.
    const byPg = (await loadedBy("await import('pg')")).builtins
    const hasNavigator = 'navigator' in globalThis
    assert.equal(byPg.some((b) => b.includes('undici')), !hasNavigator)
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `
      const before = 'navigator' in globalThis
      const sdk = await import('azure-pg-tls')
      const { default: pg } = await import('pg')
      const undici = process.moduleLoadList.some((m) => m.includes('undici'))
      console.log(JSON.stringify({ same: before === ('navigator' in globalThis), undici, shared: Object.getPrototypeOf(sdk.AzurePgClient) === pg.Client }))`], { cwd: repo, timeout: 60_000, env: { PATH: process.env['PATH'] } })
    assert.deepEqual(JSON.parse(stdout.trim()), { same: true, undici: false, shared: true })
  })
})
