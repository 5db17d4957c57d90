// The trust store against real HTTP(S) servers on 127.0.0.1: good and broken mirrors, the cache on
// disk, concurrency inside one process and across processes.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { copyFile, link, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import https from 'node:https'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import nodeFetch from 'node-fetch'
import { createAzurePgClient, type AzurePgError } from '../../src/index.js'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import type { CertsOptions, FetchFunction } from '../../src/options.js'
import { downloadRoot, downloadUrl, MAX_DOWNLOAD_BYTES } from '../../src/trust/download.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { clearRootMemo, DEFAULT_ROOTS, resolveAzureRoots, settleBackgroundWork, type ResolvedRoot } from '../../src/trust/store.js'
import { expectAzureError } from '../support/assert-error.js'
import { ENDLESS_STALL_BYTES, startMirror, type Mirror, type MirrorBehaviour } from '../../lab/cert-mirror.js'
import { ensureFreshBuild } from '../support/fresh-build.js'
import { tempDirs } from '../support/temp-dir.js'
import { createRootCa, issueServerCertificate } from '../../lab/pki.js'
import { runCliCaptured } from '../support/cli.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

// Pins and file names copied from docs/azure-facts.md, not from the code under test.
const PINS = {
  g2: 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F',
  ms: 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0',
  g1: '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61',
}
const CACHE_FILES = Object.values(PINS).map((p) => `${p.replace(/:/g, '').toLowerCase()}.pem`).sort()
const G2 = AZURE_ROOTS.find((r) => r.sha256 === PINS.g2)!

const tempDir = tempDirs('trust')

function capture(): { warnings: string[]; logger: { warn(m: string): void } } {
  const warnings: string[] = []
  return { warnings, logger: { warn: (m) => warnings.push(m) } }
}

function resolveWith(options: CertsOptions, extra: { now?: Date; warnings?: string[] } = {}): Promise<readonly ResolvedRoot[]> {
  const settings = resolveCertsSettings(options, {})
  const now = extra.now ?? new Date()
  return resolveAzureRoots(settings, { logger: { warn: (m) => extra.warnings?.push(m) }, now: () => now })
}

const fingerprintsOf = (roots: readonly ResolvedRoot[]): string[] => roots.map((r) => new X509Certificate(r.pem).fingerprint256).sort()

async function cacheSnapshot(dir: string): Promise<Map<string, { body: string; mtime: number }>> {
  const snap = new Map<string, { body: string; mtime: number }>()
  for (const name of await readdir(dir)) {
    snap.set(name, { body: await readFile(join(dir, name), 'utf8'), mtime: (await stat(join(dir, name))).mtimeMs })
  }
  return snap
}

async function cli(args: string[], env: Record<string, string> = {}, fetch?: FetchFunction): Promise<{ code: number; out: string; err: string }> {
  const { code, out, err } = await runCliCaptured(args, { env, ...(fetch && { fetch }) })
  return { code, out, err }
}

let mirror: Mirror
before(async () => { mirror = await startMirror() })
after(async () => { await mirror.close() })
afterEach(() => {
  clearRootMemo()
  // Requests and abandoned responses are counted per test: an earlier test must not satisfy a later one.
  mirror.reset()
})

/** A mirror URL under a path of its own, so what the mirror saw of it belongs to one test alone. */
const under = (name: string): string => `${mirror.url}/${name}`
/** The request path of G2 under such a URL. */
const g2Path = (name: string): string => `/${name}/DigiCertGlobalRootG2.crt.pem`

describe('downloading from a good mirror', () => {
  it('downloads every root (PEM and DER), verifies the pins, and caches one file per fingerprint', async () => {
    const cacheDir = await tempDir()
    const roots = await resolveWith({ source: 'download', mirror: mirror.url, cacheDir })
    assert.deepEqual(fingerprintsOf(roots), Object.values(PINS).sort())
    assert.ok(roots.every((r) => r.origin === 'download'))
    await settleBackgroundWork() // the cache is written off the connection path
    assert.deepEqual([...mirror.requests.keys()].sort(), [
      '/DigiCertGlobalRootCA.crt.pem', '/DigiCertGlobalRootG2.crt.pem', '/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt',
    ])
    assert.deepEqual((await readdir(cacheDir)).sort(), CACHE_FILES)
    for (const name of CACHE_FILES) {
      const cert = new X509Certificate(await readFile(join(cacheDir, name)))
      assert.equal(cert.fingerprint256.replace(/:/g, '').toLowerCase(), name.replace('.pem', ''))
    }

    clearRootMemo()
    mirror.requests.clear()
    const again = await resolveWith({ source: 'download', mirror: mirror.url, cacheDir })
    assert.ok(again.every((r) => r.origin === 'cache'), 'a new process reads the cache')
    assert.equal(mirror.total(), 0)
  })

  it('asks the official URLs when there is no mirror (through the fetch seam)', async () => {
    const asked: string[] = []
    const viaMirror: FetchFunction = (url, init) => {
      asked.push(url)
      return nodeFetch(`${mirror.url}${url.slice(url.lastIndexOf('/'))}`, init)
    }
    await resolveWith({ source: 'download', cacheDir: await tempDir(), fetch: viaMirror })
    assert.deepEqual(asked.sort(), [
      'https://cacerts.digicert.com/DigiCertGlobalRootCA.crt.pem',
      'https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem',
      'https://www.microsoft.com/pkiops/certs/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt',
    ])
  })

  it('builds mirror URLs from the official file name, percent-encoding kept', () => {
    const ms = AZURE_ROOTS.find((r) => r.sha256 === PINS.ms)!
    assert.equal(downloadUrl(ms, 'https://pki.corp/azure/'), 'https://pki.corp/azure/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt')
    assert.equal(downloadUrl(G2, 'http://mirror:8080'), 'http://mirror:8080/DigiCertGlobalRootG2.crt.pem')
  })

  it('follows up to three redirects', async () => {
    mirror.behaviour = 'redirectOk'
    const pem = await downloadRoot(G2, { fetch: undefined, timeoutMs: 5000, mirror: mirror.url })
    assert.equal(new X509Certificate(pem).fingerprint256, PINS.g2)
    assert.equal(mirror.total(), 3)
  })
})

describe('a broken or hostile source', () => {
  const cases: Array<[MirrorBehaviour, string, RegExp]> = [
    ['404', 'CERT_UNAVAILABLE', /HTTP 404/],
    ['500', 'CERT_UNAVAILABLE', /HTTP 500/],
    ['slow', 'CERT_UNAVAILABLE', /within 300 ms/],
    ['huge', 'CERT_UNAVAILABLE', /larger than 64 KiB/],
    ['truncated', 'CERT_UNAVAILABLE', /cut short/],
    ['truncatedPem', 'CERT_UNAVAILABLE', /PEM certificate is truncated/],
    ['html', 'CERT_UNAVAILABLE', /HTML/],
    ['empty', 'CERT_UNAVAILABLE', /empty/],
    ['redirectLoop', 'CERT_UNAVAILABLE', /more than 3 redirects/],
    ['redirectNoLocation', 'CERT_UNAVAILABLE', /HTTP 302 without a Location/],
    ['redirectToFtp', 'CERT_UNAVAILABLE', /a redirect to a ftp: URL/],
    ['twoCerts', 'CERT_UNAVAILABLE', /expected one certificate, found 2/],
    ['wrongCert', 'CERT_PIN_MISMATCH', /Baltimore CyberTrust Root with SHA-256 16:AF/],
    ['notCa', 'CERT_UNAVAILABLE', /not a CA certificate/],
  ]
  for (const [behaviour, code, message] of cases) {
    it(`${behaviour}: ${code}, the bundled copy in auto mode, and a good cache left untouched`, async () => {
      // The slow mirror never answers: its time limit is what is tested. The others get a time limit
      // that a loaded machine cannot reach, so the verdict is the mirror's fault, never the clock's.
      const timeoutMs = behaviour === 'slow' ? 300 : 10_000
      mirror.behaviour = behaviour
      const err = await expectAzureError(() => downloadRoot(G2, { fetch: undefined, timeoutMs, mirror: mirror.url }), code as AzurePgError['code'])
      assert.match(err.message, message)

      const emptyCache = await tempDir()
      const warnings: string[] = []
      const roots = await resolveWith({ mirror: mirror.url, cacheDir: emptyCache, timeoutMs }, { warnings })
      assert.ok(roots.every((r) => r.origin === 'bundled'))
      assert.deepEqual(fingerprintsOf(roots), Object.values(PINS).sort())
      // auto no longer waits for the download: it runs in the background, after the resolution.
      await settleBackgroundWork()
      assert.equal(warnings.filter((w) => w.includes('Using the bundled copy')).length, 3)
      assert.deepEqual(await readdir(emptyCache), ['refresh-failed.json'], 'nothing bad is cached; the failed refresh is remembered')

      clearRootMemo()
      const strict = await expectAzureError(() => resolveWith({ source: 'download', mirror: mirror.url, cacheDir: emptyCache, timeoutMs }), 'CERT_UNAVAILABLE')
      assert.match(strict.message, /DigiCert Global Root G2 \(cache: no copy; download: /)

      // A forced refresh (`certs fetch`) against the same source must not touch a good cache.
      const goodCache = await tempDir()
      mirror.behaviour = 'good'
      assert.equal((await cli(['certs', 'fetch', '--mirror', mirror.url, '--cache-dir', goodCache])).code, 0)
      const before = await cacheSnapshot(goodCache)
      mirror.behaviour = behaviour
      const refresh = await cli(['certs', 'fetch', '--mirror', mirror.url, '--cache-dir', goodCache, '--timeout', String(timeoutMs)])
      assert.equal(refresh.code, 1)
      assert.deepEqual(await cacheSnapshot(goodCache), before)
    })
  }

  it('stops reading a 10 MiB body early', async () => {
    mirror.behaviour = 'huge'
    const err = await expectAzureError(() => downloadRoot(G2, { fetch: undefined, timeoutMs: 10_000, mirror: under('huge-early') }), 'CERT_UNAVAILABLE')
    assert.match(err.message, /larger than 64 KiB/)
    const { bytesWritten } = await mirror.whenAbandoned(g2Path('huge-early'))
    assert.ok(bytesWritten < 10 * 1024 * 1024, 'the server saw the client hang up before the end of the body')
  })

  it('gives up on an endless body once past the size cap, instead of reading until the time limit', async () => {
    mirror.behaviour = 'endless'
    // The time limit is far away: failing by it (or by the test's own timeout) means the cap waited for the end.
    const err = await expectAzureError(() => downloadRoot(G2, { fetch: undefined, timeoutMs: 20_000, mirror: under('endless') }), 'CERT_UNAVAILABLE')
    assert.match(err.message, /the body is larger than 64 KiB/)
    const { bytesWritten } = await mirror.whenAbandoned(g2Path('endless'))
    assert.ok(bytesWritten > MAX_DOWNLOAD_BYTES && bytesWritten < ENDLESS_STALL_BYTES,
      `the client hung up after ${bytesWritten} bytes were sent: past the cap, long before the mirror ran dry`)
  })

  it('refuses a redirect from https to http', async () => {
    const ca = await createRootCa('Mirror Test CA')
    const tls = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    const secure = await startMirror({ tls: { cert: tls.certChainPem, key: tls.keyPem }, behaviour: 'redirectToHttp' })
    secure.httpTarget = mirror.url
    const agent = new https.Agent({ ca: ca.pem })
    const trusting: FetchFunction = (url, init) => nodeFetch(url, { ...init, agent: url.startsWith('https:') ? agent : undefined })
    try {
      const err = await expectAzureError(() => downloadRoot(G2, { fetch: trusting, timeoutMs: 5000, mirror: secure.url }), 'CERT_UNAVAILABLE')
      assert.match(err.message, /from https to http/)
      assert.equal(mirror.total(), 0, 'the http target was never asked')
      secure.behaviour = 'good'
      assert.equal(new X509Certificate(await downloadRoot(G2, { fetch: trusting, timeoutMs: 5000, mirror: secure.url })).fingerprint256, PINS.g2)
    } finally {
      agent.destroy()
      await secure.close()
    }
  })
})

describe('the cache', () => {
  it('ignores a corrupted or tampered file with a warning, and replaces it on the next download', async () => {
    const cacheDir = await tempDir()
    const g2File = join(cacheDir, CACHE_FILES.find((f) => f.startsWith('cb3c'))!)
    const g1File = join(cacheDir, CACHE_FILES.find((f) => f.startsWith('4348'))!)
    await writeFile(g2File, '-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n')
    await writeFile(g1File, await readFile(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url)))
    const warnings: string[] = []
    const roots = await resolveWith({ mirror: mirror.url, cacheDir }, { warnings })
    assert.deepEqual(fingerprintsOf(roots), Object.values(PINS).sort())
    await settleBackgroundWork() // the replacement is downloaded in the background
    assert.ok(warnings.some((w) => /cached copy of DigiCert Global Root G2 .* is not a certificate \(corrupted\)/.test(w)), warnings.join('\n'))
    assert.ok(warnings.some((w) => /cached copy of DigiCert Global Root CA .* does not match the pinned fingerprint/.test(w)), warnings.join('\n'))
    assert.equal(new X509Certificate(await readFile(g2File)).fingerprint256, PINS.g2)
    assert.equal(new X509Certificate(await readFile(g1File)).fingerprint256, PINS.g1)
  })

  it('ignores a cache file holding two certificates, even when the first one is the pinned root', async () => {
    const cacheDir = await tempDir()
    const g2File = join(cacheDir, CACHE_FILES.find((f) => f.startsWith('cb3c'))!)
    const g2Pem = await readFile(new URL('../../certs/digicert-global-root-g2.pem', import.meta.url), 'utf8')
    const extra = await readFile(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url), 'utf8')
    await writeFile(g2File, `${g2Pem.trim()}\n${extra}`)
    const warnings: string[] = []
    const roots = await resolveWith({ offline: true, cacheDir }, { warnings })
    assert.equal(roots.find((r) => r.root.sha256 === PINS.g2)?.origin, 'bundled', 'the two-certificate file is not trusted')
    assert.ok(warnings.some((w) => /cached copy of DigiCert Global Root G2 .* holds 2 certificates; it is ignored/.test(w)), warnings.join('\n'))
  })

  it('replaces a cache file by renaming a new file over it: a reader holding the old file never sees it change', async () => {
    const cacheDir = await tempDir()
    const g2File = join(cacheDir, CACHE_FILES.find((f) => f.startsWith('cb3c'))!)
    const stale = '-----BEGIN CERTIFICATE-----\nstale\n-----END CERTIFICATE-----\n'
    await writeFile(g2File, stale)
    // A second name for the old file stands for a reader that opened it before the refresh.
    const reader = join(await tempDir(), 'held-open.pem')
    await link(g2File, reader)
    const oldInode = (await stat(g2File)).ino
    await resolveWith({ source: 'download', mirror: mirror.url, cacheDir })
    // The cache is written behind the resolution, off the connection path.
    await settleBackgroundWork()
    assert.equal(new X509Certificate(await readFile(g2File)).fingerprint256, PINS.g2)
    assert.notEqual((await stat(g2File)).ino, oldInode, 'a new file took the name (rename), the old one was not rewritten in place')
    assert.equal(await readFile(reader, 'utf8'), stale, 'the old file is untouched: written in place, a reader could see half a certificate')
    assert.deepEqual((await readdir(cacheDir)).sort(), CACHE_FILES, 'no temporary file left behind')
  })

  it('carries on in memory, with one warning, when the cache folder cannot be created', async () => {
    const blocker = join(await tempDir(), 'a-file')
    await writeFile(blocker, 'not a folder')
    const warnings: string[] = []
    // source 'download', so that the roots in memory are the downloaded ones (auto would use the bundled copies).
    const roots = await resolveWith({ source: 'download', mirror: mirror.url, cacheDir: join(blocker, 'cache') }, { warnings })
    assert.ok(roots.every((r) => r.origin === 'download'))
    await settleBackgroundWork() // cache writes run off the connection path
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0] ?? '', /Cannot write the certificate cache .* \(ENOTDIR\); keeping downloaded roots in memory/)
  })

  it('is filled safely by several processes at once', async () => {
    const cacheDir = await tempDir()
    const script = `
      const { resolveCertsSettings } = await import('./src/config/certs-settings.ts');
      const { resolveAzureRoots } = await import('./src/trust/store.ts');
      const roots = await resolveAzureRoots(resolveCertsSettings({ source: 'download', mirror: process.env.MIRROR, cacheDir: process.env.CACHE }, {}), { logger: { warn: (m) => console.error(m) }, now: () => new Date() });
      console.log(roots.map((r) => r.origin).join(','));`
    const runs = await Promise.all(Array.from({ length: 6 }, () => run(process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root, env: { PATH: process.env['PATH'], MIRROR: mirror.url, CACHE: cacheDir } })))
    for (const r of runs) assert.match(r.stdout.trim(), /^(download|cache),(download|cache),(download|cache)$/)
    assert.deepEqual((await readdir(cacheDir)).sort(), CACHE_FILES, 'no temporary files left behind')
    for (const name of CACHE_FILES) assert.ok(new X509Certificate(await readFile(join(cacheDir, name))).ca)
    assert.ok(mirror.total() >= 3 && mirror.total() <= 18)
  })
})

describe('resolution', () => {
  it('shares one download per root among 100 simultaneous clients', async () => {
    const cacheDir = await tempDir()
    const clients = await Promise.all(Array.from({ length: 100 }, () => createAzurePgClient({
      host: 'mydemoserver.postgres.database.azure.com', user: 'u', env: {}, certs: { mirror: mirror.url, cacheDir, source: 'download' },
    })))
    assert.equal(clients.length, 100)
    assert.equal(mirror.total(), 3)
    for (const count of mirror.requests.values()) assert.equal(count, 1)
  })

  it('offline: never touches the network; cache first, then bundled', async () => {
    const cacheDir = await tempDir()
    const offline = await resolveWith({ offline: true, mirror: mirror.url, cacheDir })
    assert.ok(offline.every((r) => r.origin === 'bundled'))
    clearRootMemo()
    await resolveWith({ source: 'download', mirror: mirror.url, cacheDir })
    await settleBackgroundWork()
    clearRootMemo()
    mirror.requests.clear()
    const fromEnv = resolveCertsSettings(undefined, { AZURE_PG_TLS_OFFLINE: '1', AZURE_PG_TLS_CERT_MIRROR: mirror.url, AZURE_PG_TLS_CACHE_DIR: cacheDir })
    const roots = await resolveAzureRoots(fromEnv, { logger: { warn() {} }, now: () => new Date() })
    assert.ok(roots.every((r) => r.origin === 'cache'))
    assert.equal(mirror.total(), 0)
    clearRootMemo()
    const emptyCache = await tempDir()
    await expectAzureError(() => resolveWith({ source: 'download', offline: true, cacheDir: emptyCache, mirror: mirror.url }), 'CERT_UNAVAILABLE')
    assert.equal(mirror.total(), 0)
  })

  it("bundled: only certs/, no cache and no network", async () => {
    const cacheDir = await tempDir()
    const roots = await resolveWith({ source: 'bundled', mirror: mirror.url, cacheDir })
    assert.ok(roots.every((r) => r.origin === 'bundled'))
    assert.deepEqual(await readdir(cacheDir), [])
    assert.equal(mirror.total(), 0)
  })

  it('refuses a bundled copy that does not match its pin, or that cannot be read', async () => {
    const now = (): Date => new Date()
    const wrongG2 = await tempDir()
    for (const r of DEFAULT_ROOTS) await copyFile(new URL(`../../certs/${r.id}.pem`, import.meta.url), join(wrongG2, `${r.id}.pem`))
    await copyFile(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url), join(wrongG2, `${G2.id}.pem`))
    const bundled = resolveCertsSettings({ source: 'bundled' }, {})
    const mismatch = await expectAzureError(() => resolveAzureRoots(bundled, { logger: { warn() {} }, now, bundledDir: wrongG2 }), 'CERT_PIN_MISMATCH')
    assert.match(mismatch.message, /bundled copy of DigiCert Global Root G2 .* does not match its pinned fingerprint/)

    const missingG2 = await tempDir()
    for (const r of DEFAULT_ROOTS.filter((r) => r !== G2)) await copyFile(new URL(`../../certs/${r.id}.pem`, import.meta.url), join(missingG2, `${r.id}.pem`))
    const unreadable = await expectAzureError(() => resolveAzureRoots(bundled, { logger: { warn() {} }, now, bundledDir: missingG2 }), 'CERT_UNAVAILABLE')
    assert.match(unreadable.message, /bundled copy of DigiCert Global Root G2 .* cannot be read/)
  })

  it('skips expired roots and warns 90 days ahead (fixed clock)', async () => {
    const soon = capture()
    const nearG2 = await resolveWith({ source: 'bundled' }, { now: new Date('2037-12-01T00:00:00Z'), warnings: soon.warnings })
    assert.equal(nearG2.length, 2, 'G1 (2031) has expired by then')
    assert.ok(soon.warnings.some((w) => /DigiCert Global Root G2 expires on 2038-01-15, in 4\d days/.test(w)), soon.warnings.join('\n'))
    assert.ok(soon.warnings.some((w) => /DigiCert Global Root CA expired on 2031-11-10; it is not trusted/.test(w)))

    clearRootMemo()
    const late = await resolveWith({ source: 'bundled' }, { now: new Date('2039-01-01T00:00:00Z') })
    assert.deepEqual(fingerprintsOf(late), [PINS.ms])

    clearRootMemo()
    await expectAzureError(() => resolveWith({ source: 'bundled' }, { now: new Date('2043-01-01T00:00:00Z') }), 'CERT_UNAVAILABLE')
  })

  it('refuses bad certs settings as INVALID_CONFIG', async () => {
    await expectAzureError(() => resolveCertsSettings({ source: 'sometimes' as 'auto' }, {}), 'INVALID_CONFIG')
    await expectAzureError(() => resolveCertsSettings(undefined, { AZURE_PG_TLS_CERT_MIRROR: 'ftp://x' }), 'INVALID_CONFIG')
    await expectAzureError(() => resolveCertsSettings({ timeoutMs: 0 }, {}), 'INVALID_CONFIG')
  })

  it('uses the XDG cache folder by default', () => {
    assert.equal(resolveCertsSettings(undefined, { XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' }).cacheDir, '/x/cache/azure-pg-tls')
    assert.equal(resolveCertsSettings(undefined, { HOME: '/home/u' }).cacheDir, '/home/u/.cache/azure-pg-tls')
    assert.equal(resolveCertsSettings(undefined, { HOME: '/home/u', AZURE_PG_TLS_CACHE_DIR: '/c' }).cacheDir, '/c')
  })

  it('loads node-fetch only when a download happens', async () => {
    const probe = `
      const { resolveCertsSettings } = await import('./src/config/certs-settings.ts');
      const { resolveAzureRoots, clearRootMemo } = await import('./src/trust/store.ts');
      const ctx = { logger: { warn() {} }, now: () => new Date() };
      await resolveAzureRoots(resolveCertsSettings({ source: 'bundled' }, {}), ctx);
      console.log('after-bundled');
      await resolveAzureRoots(resolveCertsSettings({ source: 'download', mirror: process.env.MIRROR, cacheDir: process.env.CACHE }, {}), ctx);
      console.log('after-download');`
    const { stdout } = await run(process.execPath,
      ['--import', 'tsx', '--import', './test/support/trace-node-fetch.ts', '--input-type=module', '-e', probe],
      { cwd: root, env: { PATH: process.env['PATH'], MIRROR: mirror.url, CACHE: await tempDir() } })
    assert.deepEqual(stdout.trim().split('\n'), ['after-bundled', 'node-fetch loaded', 'after-download'])
  })
})

describe('azure-pg-tls certs (command line)', () => {
  it('status: a table of roots, source, pin check and expiry; --json for scripts', async () => {
    const cacheDir = await tempDir()
    const text = await cli(['certs', 'status', '--cache-dir', cacheDir])
    assert.equal(text.code, 0)
    assert.match(text.out, /^DigiCert Global Root G2\s+yes\s+bundled\s+ok \(pinned SHA-256\)\s+2038-01-15 \(\d+ days\)$/m)
    assert.match(text.out, /^Baltimore CyberTrust Root\s+no \(legacy\)\s+-\s+-\s+2025-05-12 \(EXPIRED\)$/m)
    assert.match(text.out, /3 of 3 Azure roots available/)

    assert.equal((await cli(['certs', 'fetch', '--mirror', mirror.url, '--cache-dir', cacheDir])).code, 0)
    const json = await cli(['certs', 'status', '--json'], { AZURE_PG_TLS_CACHE_DIR: cacheDir })
    const parsed = JSON.parse(json.out) as { ok: boolean; cacheDir: string; roots: Array<{ id: string; source: string; fingerprint: string }> }
    assert.equal(parsed.ok, true)
    assert.equal(parsed.cacheDir, cacheDir)
    assert.deepEqual(parsed.roots.map((r) => [r.id, r.source, r.fingerprint]), [
      ['digicert-global-root-g2', 'cache', 'ok'],
      ['microsoft-rsa-root-ca-2017', 'cache', 'ok'],
      ['digicert-global-root-ca', 'cache', 'ok'],
      // The rest of Microsoft's complete set (certs.roots 'all'): listed, bundled, not trusted by default.
      ['digicert-global-root-g3', 'bundled', 'ok'],
      ['microsoft-ecc-root-ca-2017', 'bundled', 'ok'],
      ['digicert-tls-ecc-p384-root-g5', 'bundled', 'ok'],
      ['digicert-tls-rsa4096-root-g5', 'bundled', 'ok'],
      ['baltimore-cybertrust-root', null, 'unavailable'],
    ])
  })

  it('status exits 1 when no valid root is available', async () => {
    const { code, out } = await runCliCaptured(['certs', 'status', '--offline'], {
      env: { AZURE_PG_TLS_CACHE_DIR: await tempDir() }, now: () => new Date('2043-01-01T00:00:00Z'),
    })
    assert.equal(code, 1)
    assert.match(out, /No valid Azure root is available/)
  })

  it('fetch: per-root results, exit 1 on any failure, --json', async () => {
    const cacheDir = await tempDir()
    const ok = await cli(['certs', 'fetch', '--json', '--mirror', mirror.url, '--cache-dir', cacheDir])
    assert.equal(ok.code, 0)
    const results = (JSON.parse(ok.out) as { results: Array<{ ok: boolean; url: string }> }).results
    assert.deepEqual(results.map((r) => r.ok), [true, true, true])
    assert.ok(results.every((r) => r.url.startsWith(mirror.url)))
    mirror.behaviour = '404'
    const bad = await cli(['certs', 'fetch', '--mirror', mirror.url, '--cache-dir', cacheDir])
    assert.equal(bad.code, 1)
    assert.match(bad.out, /^✗ DigiCert Global Root G2: CERT_UNAVAILABLE .*HTTP 404/m)
    const offline = await cli(['certs', 'fetch', '--offline', '--cache-dir', cacheDir])
    assert.equal(offline.code, 1)
    assert.equal(mirror.requests.size, 3)
  })

  it('bundle: writes the combined PEM that psql and other tools can use', async () => {
    const dir = await tempDir()
    const out = join(dir, 'azure-roots.pem')
    const r = await cli(['certs', 'bundle', '--out', out, '--source', 'bundled'])
    assert.equal(r.code, 0)
    const pem = await readFile(out, 'utf8')
    const certs = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []
    assert.deepEqual(certs.map((c) => new X509Certificate(c).fingerprint256).sort(), Object.values(PINS).sort())
    const printed = await cli(['certs', 'bundle', '--source', 'bundled'])
    assert.equal(printed.out.trim(), pem.trim())
  })

  it('help and usage errors', async () => {
    const help = await cli(['--help'])
    assert.equal(help.code, 0)
    assert.match(help.out, /azure-pg-tls certs status/)
    assert.equal((await cli(['certs', 'frobnicate'])).code, 2)
    assert.equal((await cli(['certs', 'status', '--bogus'])).code, 2)
    assert.equal((await cli([])).code, 2)
    assert.equal((await cli(['certs', 'bundle', '--source', 'never'])).code, 2)
  })

  it('runs as the installed bin (package.json "bin": dist/esm/cli/bin.js)', async () => {
    await ensureFreshBuild()
    const bin = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['azure-pg-tls'] ?? ''
    assert.equal(bin, './dist/esm/cli/bin.js')
    const { stdout } = await run(process.execPath, [join(root, bin), 'certs', 'status', '--json', '--offline'], { env: { PATH: process.env['PATH'], AZURE_PG_TLS_CACHE_DIR: await tempDir() } })
    assert.equal((JSON.parse(stdout) as { ok: boolean }).ok, true)
    const head = (await readFile(join(root, bin), 'utf8')).split('\n')[0]
    assert.equal(head, '#!/usr/bin/env node')
  })
})
