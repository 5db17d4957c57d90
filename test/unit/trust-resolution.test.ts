// The trust store's resolution order without a network (the fetch seam serves the pinned copies, or
// fails): cache, bundled copy, download, the background refresh and its one-day marker, the warnings,
// the memo; the safe file operations under it; and loading trust anchors of every kind. Real files in
// temporary folders; expected values are written out here, not computed by the code under test.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { rootCertificates } from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import { MirrorCredentials } from '../../src/config/mirror-url.js'
import type { CertsOptions, FetchFunction } from '../../src/options.js'
import { backgroundTasks, settleBackgroundWork, startLater, startNow } from '../../src/trust/background.js'
import { cacheFile, warnIfCacheDirShared } from '../../src/trust/cache.js'
import { clearRefreshMarker, MARKER_NAME, refreshPostponed, sourceKey, writeRefreshMarker } from '../../src/trust/refresh-marker.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { makeDirs, readSmallFile, writeFileAtomic } from '../../src/trust/safe-file.js'
import { clearRootMemo, resolveAzureRoots, resolveRoot, type RunState } from '../../src/trust/store.js'
import { loadTrustAnchors } from '../../src/trust/trust-anchors.js'
import { describeTier } from '../../src/trust/trust-tier.js'
import { expectAzureError } from '../support/assert-error.js'
import { tempDirs } from '../support/temp-dir.js'

const newDir = tempDirs('trust-resolution')
const NOW = new Date('2026-11-29T00:00:00Z')
const byId = (id: string) => AZURE_ROOTS.find((r) => r.id === id)!
const G2 = byId('digicert-global-root-g2')
const DEFAULT_IDS = ['digicert-global-root-g2', 'microsoft-rsa-root-ca-2017', 'digicert-global-root-ca']
const pinned = (id: string): Buffer => readFileSync(new URL(`../../certs/${id}.pem`, import.meta.url))
const baltimore = readFileSync(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url))
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256

/** A fetch that serves each root's pinned copy at its official URL (or fails), counting requests. */
function servingFetch(fail = false): { fetch: FetchFunction; urls: string[] } {
  const urls: string[] = []
  const fetch: FetchFunction = async (url) => {
    urls.push(url)
    if (fail) throw Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })
    const root = AZURE_ROOTS.find((r) => r.url === url)
    const body = root === undefined ? null : (async function* () { yield pinned(root.id) })()
    return { status: root === undefined ? 404 : 200, headers: { get: () => null }, body }
  }
  return { fetch, urls }
}

function context(now: Date = NOW, bundledDir?: string): { warnings: string[]; ctx: { logger: { warn(m: string): void }; now: () => Date; bundledDir?: string } } {
  const warnings: string[] = []
  return { warnings, ctx: { logger: { warn: (m: string) => { warnings.push(m) } }, now: () => now, ...(bundledDir !== undefined && { bundledDir }) } }
}

const certs = (o: CertsOptions) => resolveCertsSettings(o, {})

describe('resolveRoot: the order', () => {
  it('auto: an empty cache gives the bundled copy at once, marked for a refresh; nothing downloaded', async () => {
    const { fetch, urls } = servingFetch()
    const run: RunState = { cacheWriteFailed: false, stale: [] }
    const out = await resolveRoot(G2, certs({ cacheDir: await newDir(), fetch }), context().ctx, run)
    assert.ok('ok' in out)
    assert.equal(out.ok.origin, 'bundled')
    assert.equal(out.cache, 'miss')
    assert.equal(fingerprint(out.ok.pem), G2.sha256)
    assert.deepEqual(run.stale, [G2])
    assert.deepEqual(urls, [])
  })

  it('auto offline, and bundled: the bundled copy, and no refresh; bundled does not even read the cache', async () => {
    const dir = await newDir()
    await writeFile(cacheFile(dir, G2), baltimore)
    for (const o of [{ offline: true }, { source: 'bundled' as const }]) {
      const run: RunState = { cacheWriteFailed: false, stale: [] }
      const { warnings, ctx } = context()
      const out = await resolveRoot(G2, certs({ cacheDir: dir, fetch: servingFetch().fetch, ...o }), ctx, run)
      assert.ok('ok' in out)
      assert.equal(out.ok.origin, 'bundled')
      assert.deepEqual(run.stale, [])
      if (o.source === 'bundled') {
        assert.equal(out.cache, 'miss')
        assert.deepEqual(warnings, [])
      } else {
        assert.equal(out.cache, 'bad')
        assert.equal(warnings.length, 1)
      }
    }
  })

  it('takes a pinned copy from the cache first, in auto and download alike', async () => {
    const dir = await newDir()
    await writeFile(cacheFile(dir, G2), pinned(G2.id))
    for (const source of ['auto', 'download'] as const) {
      const { fetch, urls } = servingFetch()
      const out = await resolveRoot(G2, certs({ cacheDir: dir, fetch, source }), context().ctx)
      assert.ok('ok' in out)
      assert.equal(out.ok.origin, 'cache')
      assert.equal(out.cache, 'hit')
      assert.deepEqual(urls, [])
    }
  })

  it('warns about a bad cache file, and uses the bundled copy instead', async () => {
    const dir = await newDir()
    await writeFile(cacheFile(dir, G2), baltimore)
    const { warnings, ctx } = context()
    const out = await resolveRoot(G2, certs({ cacheDir: dir, fetch: servingFetch().fetch }), ctx)
    assert.ok('ok' in out)
    assert.equal(out.ok.origin, 'bundled')
    assert.deepEqual(warnings, [`The cached copy of DigiCert Global Root G2 in ${dir} does not match the pinned fingerprint; it is ignored and will be replaced.`])
  })

  it('download: waits for the download, then fills the cache behind it', async () => {
    const dir = await newDir()
    const { fetch, urls } = servingFetch()
    const out = await resolveRoot(G2, certs({ cacheDir: dir, fetch, source: 'download' }), context().ctx)
    assert.ok('ok' in out)
    assert.equal(out.ok.origin, 'download')
    assert.deepEqual(urls, [G2.url])
    await settleBackgroundWork()
    assert.equal(fingerprint(await readFile(cacheFile(dir, G2), 'utf8')), G2.sha256)
  })

  it('download: says what was tried when offline, or when the download fails', async () => {
    const dir = await newDir()
    await writeFile(cacheFile(dir, G2), baltimore)
    assert.deepEqual(await resolveRoot(G2, certs({ cacheDir: await newDir(), source: 'download', offline: true }), context().ctx),
      { tried: ['cache: no copy', 'download: not tried (offline)'], errors: [], cache: 'miss' })
    const out = await resolveRoot(G2, certs({ cacheDir: dir, source: 'download', fetch: servingFetch(true).fetch }), context().ctx)
    assert.ok('tried' in out)
    assert.equal(out.cache, 'bad')
    assert.equal(out.tried.length, 2)
    assert.equal(out.tried[0], 'cache: does not match the pinned fingerprint')
    assert.match(out.tried[1] ?? '', /^download: Downloading DigiCert Global Root G2 from .* failed: connect EHOSTUNREACH\.$/)
    assert.equal(out.errors.length, 1)
  })

  it('auto with a damaged bundled copy: waits for a download after all, with a warning; offline it reports the bundled error', async () => {
    const broken = await newDir()
    const { warnings, ctx } = context(NOW, broken)
    const out = await resolveRoot(G2, certs({ cacheDir: await newDir(), fetch: servingFetch().fetch }), ctx)
    assert.ok('ok' in out)
    assert.equal(out.ok.origin, 'download')
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /^The bundled copy of DigiCert Global Root G2 .* cannot be read\. The downloaded copy is used\.$/)
    const off = await resolveRoot(G2, certs({ cacheDir: await newDir(), offline: true }), context(NOW, broken).ctx)
    assert.ok('tried' in off)
    assert.ok(off.bundledError instanceof Error)
    assert.deepEqual(off.errors, [off.bundledError])
    assert.equal(off.tried.length, 2)
    assert.match(off.tried[1] ?? '', /^bundled: The bundled copy of DigiCert Global Root G2/)
  })
})

describe('resolveAzureRoots', () => {
  it('auto: the bundled roots now, the cache filled in the background, no marker', async () => {
    clearRootMemo()
    const dir = await newDir()
    const { fetch, urls } = servingFetch()
    const { warnings, ctx } = context()
    const roots = await resolveAzureRoots(certs({ cacheDir: dir, fetch }), ctx)
    assert.deepEqual(roots.map((r) => [r.root.id, r.origin]), DEFAULT_IDS.map((id) => [id, 'bundled']))
    await settleBackgroundWork()
    assert.deepEqual([...urls].sort(), DEFAULT_IDS.map((id) => byId(id).url).sort())
    for (const id of DEFAULT_IDS) assert.equal(fingerprint(await readFile(cacheFile(dir, byId(id)), 'utf8')), byId(id).sha256)
    assert.deepEqual((await readdir(dir)).includes(MARKER_NAME), false)
    assert.deepEqual(warnings, [])
    // The next resolution (after the memo is forgotten) comes from the cache.
    clearRootMemo()
    assert.deepEqual((await resolveAzureRoots(certs({ cacheDir: dir, fetch }), ctx)).map((r) => r.origin), ['cache', 'cache', 'cache'])
  })

  it('a failed refresh warns, leaves a marker, and postpones the next attempt for a day', async () => {
    clearRootMemo()
    const dir = await newDir()
    const { fetch, urls } = servingFetch(true)
    const { warnings, ctx } = context()
    await resolveAzureRoots(certs({ cacheDir: dir, fetch }), ctx)
    await settleBackgroundWork()
    assert.equal(urls.length, 3)
    assert.equal(warnings.length, 3)
    for (const w of warnings) assert.match(w, /EHOSTUNREACH\. Using the bundled copy \(the same pinned certificate\); the next download attempt is in a day\.$/)
    const marker = JSON.parse(await readFile(join(dir, MARKER_NAME), 'utf8')) as { failedAt: string; source: string; roots: string[] }
    assert.equal(marker.failedAt, NOW.toISOString())
    assert.equal(marker.source, sourceKey(undefined))
    assert.deepEqual([...marker.roots].sort(), [...DEFAULT_IDS].sort())
    clearRootMemo()
    await resolveAzureRoots(certs({ cacheDir: dir, fetch }), ctx)
    await settleBackgroundWork()
    assert.equal(urls.length, 3, 'postponed: no new attempt')
  })

  it('a refresh that works removes the marker', async () => {
    clearRootMemo()
    const dir = await newDir()
    await writeRefreshMarker(dir, 'https://old-mirror.example', NOW, ['x'])
    await resolveAzureRoots(certs({ cacheDir: dir, fetch: servingFetch().fetch }), context().ctx)
    await settleBackgroundWork()
    assert.equal((await readdir(dir)).includes(MARKER_NAME), false)
  })

  it('download: one warning when the cache cannot be written, for all roots', async () => {
    clearRootMemo()
    const blocker = join(await newDir(), 'file')
    await writeFile(blocker, 'x')
    const { warnings, ctx } = context()
    const roots = await resolveAzureRoots(certs({ cacheDir: join(blocker, 'cache'), fetch: servingFetch().fetch, source: 'download' }), ctx)
    assert.deepEqual(roots.map((r) => r.origin), ['download', 'download', 'download'])
    await settleBackgroundWork()
    assert.deepEqual(warnings, [`Cannot write the certificate cache ${join(blocker, 'cache')} (ENOTDIR); keeping downloaded roots in memory.`])
  })

  it('download: fails as CERT_UNAVAILABLE naming every root that could not be had', async () => {
    clearRootMemo()
    const err = await expectAzureError(async () => resolveAzureRoots(certs({ cacheDir: await newDir(), source: 'download', offline: true }), context().ctx), 'CERT_UNAVAILABLE')
    assert.match(err.message, /^Azure root certificates are unavailable with certs.source "download": DigiCert Global Root G2 \(cache: no copy; download: not tried \(offline\)\); Microsoft RSA Root Certificate Authority 2017 \(/)
  })

  it('throws the bundled copy\'s own error when the package is damaged', async () => {
    clearRootMemo()
    await expectAzureError(async () => resolveAzureRoots(certs({ cacheDir: await newDir(), offline: true }), context(NOW, '/nonexistent-bundle').ctx), 'CERT_UNAVAILABLE')
      .then((e) => assert.match(e.message, /^The bundled copy of /))
  })

  it('skips expired roots with a warning, warns 90 days ahead, and fails when none is left', async () => {
    // DigiCert Global Root CA ends on 2031-11-10: 90 days before and 91 days before.
    for (const [now, warned] of [[new Date('2031-08-12T00:00:00Z'), true], [new Date('2031-08-10T00:00:00Z'), false]] as const) {
      clearRootMemo()
      const { warnings, ctx } = context(now)
      const roots = await resolveAzureRoots(certs({ source: 'bundled', cacheDir: await newDir() }), ctx)
      assert.equal(roots.length, 3)
      assert.equal(warnings.some((w) => /^DigiCert Global Root CA expires on 2031-11-10, in \d+ days; update azure-pg-tls before then\.$/.test(w)), warned, now.toISOString())
    }
    clearRootMemo()
    const { warnings, ctx } = context(new Date('2035-01-01T00:00:00Z'))
    const roots = await resolveAzureRoots(certs({ source: 'bundled', cacheDir: await newDir() }), ctx)
    assert.deepEqual(roots.map((r) => r.root.id), ['digicert-global-root-g2', 'microsoft-rsa-root-ca-2017'])
    assert.ok(warnings.includes('DigiCert Global Root CA expired on 2031-11-10; it is not trusted.'))
    clearRootMemo()
    await expectAzureError(async () => resolveAzureRoots(certs({ source: 'bundled', cacheDir: await newDir() }), context(new Date('2050-01-01T00:00:00Z')).ctx), 'CERT_UNAVAILABLE')
      .then((e) => assert.equal(e.message, 'Every Azure root certificate available has expired.'))
  })

  it('shares one resolution per settings, and tells fetch functions and credentials apart', async () => {
    clearRootMemo()
    const dir = await newDir()
    const { ctx } = context()
    const a = servingFetch().fetch
    const s = certs({ cacheDir: dir, fetch: a, offline: true })
    const first = resolveAzureRoots(s, ctx)
    assert.equal(resolveAzureRoots(certs({ cacheDir: dir, fetch: a, offline: true }), ctx), first)
    assert.notEqual(resolveAzureRoots(certs({ cacheDir: dir, fetch: servingFetch().fetch, offline: true }), ctx), first)
    await first
    clearRootMemo()
    assert.notEqual(resolveAzureRoots(s, ctx), first)
    await settleBackgroundWork()
  })

  it('warns once that mirror credentials over plain http travel unencrypted', async () => {
    clearRootMemo()
    const { warnings, ctx } = context()
    const mirror = 'http://plain-mirror.example/pki'
    const settings = { ...certs({ cacheDir: await newDir(), offline: true }), mirror, mirrorCredentials: new MirrorCredentials('http://plain-mirror.example', 'u', 'p', 'u', 'p') }
    await resolveAzureRoots(settings, ctx)
    clearRootMemo()
    await resolveAzureRoots(settings, ctx)
    assert.deepEqual(warnings, [`certs.mirror ${mirror} is plain http: its credentials travel unencrypted. Use https.`])
  })
})

describe('the refresh marker', () => {
  it('postpones for less than a day, for the same source only, and not from the future', async () => {
    const dir = await newDir()
    assert.equal(await refreshPostponed(dir, undefined, NOW), false)
    await writeRefreshMarker(dir, undefined, NOW, ['a'])
    const at = (ms: number): Date => new Date(NOW.getTime() + ms)
    assert.equal(await refreshPostponed(dir, undefined, NOW), true)
    assert.equal(await refreshPostponed(dir, undefined, at(24 * 3600_000 - 1)), true)
    assert.equal(await refreshPostponed(dir, undefined, at(24 * 3600_000)), false)
    assert.equal(await refreshPostponed(dir, undefined, at(-1)), false)
    assert.equal(await refreshPostponed(dir, 'https://m.example', NOW), false)
    await clearRefreshMarker(dir)
    assert.equal(await refreshPostponed(dir, undefined, NOW), false)
    await clearRefreshMarker(join(dir, 'none'))
  })

  it('ignores a corrupt marker, or one without a time', async () => {
    const dir = await newDir()
    for (const content of ['{', JSON.stringify({ source: sourceKey(undefined), failedAt: NOW.getTime() }), JSON.stringify({ failedAt: NOW.toISOString() }),
      // A time that Date.parse would read after turning it into a string: still not a string.
      JSON.stringify({ source: sourceKey(undefined), failedAt: [NOW.toISOString()] })]) {
      await writeFile(join(dir, MARKER_NAME), content)
      assert.equal(await refreshPostponed(dir, undefined, NOW), false, content)
    }
  })

  it('names sources by a short digest', () => {
    assert.match(sourceKey(undefined), /^[0-9a-f]{16}$/)
    assert.notEqual(sourceKey('https://m.example'), sourceKey(undefined))
    assert.equal(sourceKey('official'), sourceKey(undefined))
  })
})

describe('background work', () => {
  it('runs one task per key at a time, swallows failures, and waits for all', async () => {
    const before = backgroundTasks()
    let ran = 0
    startLater('k', async () => { ran++ })
    startLater('k', async () => { ran += 10 })
    startNow(async () => { throw new Error('ignored') })
    startLater('fails', async () => { throw new Error('ignored') })
    assert.equal(backgroundTasks(), before + 3)
    assert.equal(ran, 0, 'later: not on this turn')
    await settleBackgroundWork()
    assert.equal(ran, 1)
    assert.equal(backgroundTasks(), 0)
    startLater('k', async () => { ran++ })
    await settleBackgroundWork()
    assert.equal(ran, 2, 'a key is free again once its task ended')
  })
})

describe('safe file operations', () => {
  it('reads a regular file up to its limit, and refuses one byte more', async () => {
    const dir = await newDir()
    await writeFile(join(dir, 'f'), Buffer.alloc(2048, 1))
    const ok = await readSmallFile(join(dir, 'f'), 2048)
    assert.equal(ok.kind, 'ok')
    assert.equal(ok.kind === 'ok' ? ok.data.length : -1, 2048)
    assert.deepEqual(await readSmallFile(join(dir, 'f'), 2047), { kind: 'refused', why: 'is larger than 1.9990234375 KiB' })
    assert.deepEqual(await readSmallFile(join(dir, 'absent')), { kind: 'missing' })
    assert.deepEqual(await readSmallFile(join(dir, 'f', 'below')), { kind: 'missing' })
  })

  it('refuses a symbolic link unless asked to follow it, a folder and a FIFO, without blocking', async () => {
    const dir = await newDir()
    await writeFile(join(dir, 'f'), 'data')
    await symlink(join(dir, 'f'), join(dir, 'link'))
    assert.deepEqual(await readSmallFile(join(dir, 'link')), { kind: 'refused', why: 'is a symbolic link' })
    assert.deepEqual(await readSmallFile(join(dir, 'link'), 100, true), { kind: 'ok', data: Buffer.from('data') })
    assert.deepEqual(await readSmallFile(dir), { kind: 'refused', why: 'is not a regular file (a directory)' })
    execFileSync('mkfifo', [join(dir, 'fifo')])
    assert.deepEqual(await readSmallFile(join(dir, 'fifo')), { kind: 'refused', why: 'is not a regular file (a FIFO)' })
    assert.deepEqual(await readSmallFile('/dev/null'), { kind: 'refused', why: 'is not a regular file (a device)' })
  })

  it('makes nested folders, accepts one that exists, and refuses a file in the way', async () => {
    const dir = await newDir()
    await makeDirs(join(dir, 'a', 'b', 'c'), 0o700)
    assert.ok((await stat(join(dir, 'a', 'b', 'c'))).isDirectory())
    for (const d of ['a', 'a/b', 'a/b/c']) assert.equal((await stat(join(dir, d))).mode & 0o777, 0o700, d)
    await makeDirs(join(dir, 'a', 'b', 'c'), 0o700)
    await writeFile(join(dir, 'file'), 'x')
    await assert.rejects(makeDirs(join(dir, 'file'), 0o700), { code: 'ENOTDIR' })
    await assert.rejects(makeDirs(join(dir, 'file', 'below'), 0o700), { code: 'ENOTDIR' })
  })

  it('reports the error of the write itself when the temporary file cannot be created', async () => {
    await assert.rejects(writeFileAtomic('/proc/self', 'x.json', 'y'), { code: 'ENOENT', syscall: 'open' })
  })

  it('writes atomically with mode 0644, leaving no temporary file', async () => {
    const dir = join(await newDir(), 'new')
    await writeFileAtomic(dir, 'x.json', 'one')
    await writeFileAtomic(dir, 'x.json', 'two')
    assert.equal(await readFile(join(dir, 'x.json'), 'utf8'), 'two')
    assert.equal((await stat(join(dir, 'x.json'))).mode & 0o777, 0o644)
    assert.deepEqual(await readdir(dir), ['x.json'])
  })
})

describe('a shared cache folder', () => {
  it('is warned about once, naming who can write it', async () => {
    for (const [mode, who] of [[0o777, 'every user'], [0o775, 'its group'], [0o757, 'every user'], [0o755, undefined]] as const) {
      const dir = await newDir()
      await chmod(dir, mode)
      const warnings: string[] = []
      const logger = { warn: (m: string) => { warnings.push(m) } }
      await warnIfCacheDirShared(dir, logger)
      await warnIfCacheDirShared(dir, logger)
      if (who === undefined) assert.deepEqual(warnings, [])
      else assert.deepEqual(warnings, [`The certificate cache folder ${dir} is writable by ${who} (mode 0${mode.toString(8)}); files in it are pin-checked before use, but anyone who can write there can plant or remove them. Run: chmod go-w ${dir}`])
    }
    const quiet: string[] = []
    await warnIfCacheDirShared('/nonexistent-cache-dir', { warn: (m) => { quiet.push(m) } })
    assert.deepEqual(quiet, [])
  })
})

describe('loadTrustAnchors', () => {
  const trustCtx = (now: Date = NOW) => {
    const { warnings, ctx } = context(now)
    return { warnings, ctx: { ...ctx, certs: certs({ source: 'bundled', cacheDir: '/nonexistent' }) } }
  }

  it('takes ssl.ca as given, and Node\'s roots for system', async () => {
    const { ctx } = trustCtx()
    const inline = await loadTrustAnchors({ kind: 'inline', ca: ['X'] } as never, ctx)
    assert.deepEqual([inline.ca, inline.description], [['X'], 'ssl.ca'])
    const system = await loadTrustAnchors({ kind: 'system' } as never, ctx)
    assert.deepEqual(system.ca, [...rootCertificates])
    assert.equal(system.description, "Node's built-in roots")
  })

  it("describes Azure's roots and where each came from", async () => {
    clearRootMemo()
    const { ctx } = trustCtx()
    const a = await loadTrustAnchors({ kind: 'azure' } as never, ctx)
    assert.equal((a.ca as string[]).length, 3)
    assert.equal(a.description, 'Azure roots (DigiCert Global Root G2 from bundled, Microsoft RSA Root Certificate Authority 2017 from bundled, DigiCert Global Root CA from bundled)')
  })

  it("tells telemetry where Azure's roots came from: bundled, download, the cache, and the memo when nothing was resolved", async () => {
    const azure = { kind: 'azure' } as never
    const { ctx: base } = context()
    clearRootMemo()
    const bundled = { ...base, certs: certs({ source: 'bundled', cacheDir: '/nonexistent' }) }
    assert.equal((await loadTrustAnchors(azure, bundled)).source, 'bundled')
    assert.equal((await loadTrustAnchors(azure, bundled)).source, 'memo')
    clearRootMemo()
    const dir = await newDir()
    const { fetch, urls } = servingFetch()
    const downloading = { ...base, certs: certs({ source: 'download', cacheDir: dir, fetch }) }
    assert.equal((await loadTrustAnchors(azure, downloading)).source, 'download')
    assert.equal(urls.length, 3)
    await settleBackgroundWork()
    clearRootMemo()
    // The downloads were cached: the next resolution reads them from there.
    assert.equal((await loadTrustAnchors(azure, { ...base, certs: certs({ cacheDir: dir, fetch }) })).source, 'cache')
    assert.equal(urls.length, 3)
    clearRootMemo()
  })

  it('reads a root file, warns about an expired legacy root in it, and reads it again only when it changes', async () => {
    const dir = await newDir()
    const path = join(dir, 'roots.pem')
    await writeFile(path, Buffer.concat([pinned(G2.id), baltimore]))
    const { warnings, ctx } = trustCtx()
    const a = await loadTrustAnchors({ kind: 'file', path, origin: 'sslrootcert' } as never, ctx)
    assert.deepEqual((a.ca as string[]).map(fingerprint), [G2.sha256, byId('baltimore-cybertrust-root').sha256])
    assert.equal(a.description, `roots from ${path}`)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /^Baltimore CyberTrust Root in ".*roots\.pem" expired on .*2025 GMT\. Baltimore CyberTrust Root is no longer used by Azure; remove sslrootcert to trust Azure's current roots\.$/)
    assert.equal(await loadTrustAnchors({ kind: 'file', path, origin: 'sslrootcert' } as never, ctx), a, 'unchanged: the same anchors')
    assert.equal(warnings.length, 1)
    await writeFile(path, pinned(G2.id))
    const b = await loadTrustAnchors({ kind: 'file', path, origin: 'sslrootcert' } as never, ctx)
    assert.deepEqual((b.ca as string[]).map(fingerprint), [G2.sha256])
  })

  it('refuses a root file that is missing, empty, not certificates, or a folder, as INVALID_CONFIG', async () => {
    const dir = await newDir()
    const { ctx } = trustCtx()
    const cases: Array<[string, (p: string) => Promise<void>, RegExp]> = [
      ['missing', async () => {}, /^The root certificate file ".*" \(from env\) cannot be read \(ENOENT\)\.$/],
      ['empty', (p) => writeFile(p, ''), /holds no certificate\.$/],
      ['garbage', (p) => writeFile(p, '-----BEGIN CERTIFICATE-----\nbm90\n-----END CERTIFICATE-----\n'), /holds something that is not an X\.509 certificate\.$/],
      ['folder', (p) => mkdir(p), /is not a regular file \(a directory\)\.$/],
    ]
    for (const [name, make, why] of cases) {
      const path = join(dir, name)
      await make(path)
      const e = await expectAzureError(() => loadTrustAnchors({ kind: 'file', path, origin: 'env' } as never, ctx), 'INVALID_CONFIG')
      assert.match(e.message, why, name)
    }
  })

  it('warns about an expired root of the user without the legacy advice when it is not a retired Azure root', async () => {
    const dir = await newDir()
    const path = join(dir, 'g2.pem')
    await writeFile(path, pinned(G2.id))
    const { warnings, ctx } = trustCtx(new Date('2040-01-01T00:00:00Z'))
    await loadTrustAnchors({ kind: 'file', path, origin: 'sslrootcert' } as never, ctx)
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /^DigiCert Global Root G2 in ".*g2\.pem" expired on Jan 15 .* 2038 GMT\.$/)
  })
})

describe('details the first mutation run left open', () => {
  it('reads a /proc file whose size fstat calls 0 only up to the limit', async () => {
    assert.deepEqual(await readSmallFile('/proc/self/status', 64), { kind: 'refused', why: 'is larger than 0.0625 KiB' })
  })

  it('refuses a file whose read fails, and one that cannot be opened, naming the error', async () => {
    assert.deepEqual(await readSmallFile('/proc/self/mem', 64), { kind: 'refused', why: 'cannot be read (EIO)' })
    const dir = await newDir()
    const path = join(dir, 'socket')
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(path, resolve))
    try {
      assert.deepEqual(await readSmallFile(path), { kind: 'refused', why: 'cannot be read (ENXIO)' })
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })

  it('closes every file it opens', async () => {
    const dir = await newDir()
    await writeFile(join(dir, 'f'), 'x')
    const before = (await readdir('/proc/self/fd')).length
    for (let i = 0; i < 5; i++) {
      await readSmallFile(join(dir, 'f'))
      await readSmallFile('/proc/self/mem', 64)
      await writeFileAtomic(dir, 'g', 'y')
    }
    assert.equal((await readdir('/proc/self/fd')).length, before)
  })

  it('makes at most 65 missing levels of folders, and fails under /proc instead of looping', async () => {
    const dir = await newDir()
    const levels = (n: number, top: string): string => join(dir, top, ...Array.from({ length: n - 1 }, () => 'd'))
    await makeDirs(levels(65, 'ok'), 0o700)
    assert.ok((await stat(levels(65, 'ok'))).isDirectory())
    await assert.rejects(makeDirs(levels(66, 'deep'), 0o700), { code: 'ENOENT' })
    await assert.rejects(makeDirs('/proc/azure-pg-tls-test/below', 0o700), { code: 'ENOENT' })
  })

  it('reports an empty bundled copy as not matching its pin', async () => {
    const dir = await newDir()
    await writeFile(join(dir, `${G2.id}.pem`), '')
    const { readBundledRoot } = await import('../../src/trust/store.js')
    await expectAzureError(() => readBundledRoot(G2, dir), 'CERT_PIN_MISMATCH')
  })

  it('checks whether the cache folder is shared only when the cache is used', async () => {
    for (const [source, warned] of [['bundled', false], ['auto', true]] as const) {
      clearRootMemo()
      const dir = await newDir()
      await chmod(dir, 0o777)
      const { warnings, ctx } = context()
      await resolveAzureRoots(certs({ cacheDir: dir, source, offline: true }), ctx)
      assert.equal(warnings.some((w) => w.includes('is writable by every user')), warned, source)
    }
  })

  it('warns about plain http only with credentials, and not for https', async () => {
    for (const [mirror, withCredentials] of [['http://m1.example/pki', false], ['https://m2.example/pki', true]] as const) {
      clearRootMemo()
      const { warnings, ctx } = context()
      const base = certs({ cacheDir: await newDir(), offline: true })
      const settings = { ...base, mirror, mirrorCredentials: withCredentials ? new MirrorCredentials(new URL(mirror).origin, 'u', 'p', 'u', 'p') : undefined }
      await resolveAzureRoots(settings, ctx)
      assert.deepEqual(warnings, [], mirror)
    }
  })

  it('starts no refresh when every root came from the cache: a marker stays', async () => {
    clearRootMemo()
    const dir = await newDir()
    for (const id of DEFAULT_IDS) await writeFile(cacheFile(dir, byId(id)), pinned(id))
    // A marker of another source: it would not postpone a refresh, which would remove it.
    await writeRefreshMarker(dir, 'https://other-mirror.example', NOW, ['x'])
    const { fetch, urls } = servingFetch()
    await resolveAzureRoots(certs({ cacheDir: dir, fetch }), context().ctx)
    await settleBackgroundWork()
    assert.ok((await readdir(dir)).includes(MARKER_NAME))
    assert.deepEqual(urls, [])
  })

  it('refreshes two folders, and two root sets of one folder, at the same time', async () => {
    clearRootMemo()
    const [a, b, c] = [await newDir(), await newDir(), await newDir()]
    const { fetch } = servingFetch()
    const { ctx } = context()
    await Promise.all([resolveAzureRoots(certs({ cacheDir: a, fetch }), ctx), resolveAzureRoots(certs({ cacheDir: b, fetch }), ctx)])
    await Promise.all([resolveAzureRoots(certs({ cacheDir: c, fetch }), ctx), resolveAzureRoots(certs({ cacheDir: c, fetch, roots: 'all' }), ctx)])
    await settleBackgroundWork()
    for (const dir of [a, b]) assert.equal((await readdir(dir)).filter((f) => f.endsWith('.pem')).length, 3, dir)
    assert.equal((await readdir(c)).filter((f) => f.endsWith('.pem')).length, 7)
  })

  it('keeps only the failures as causes when some roots could be had', async () => {
    clearRootMemo()
    const dir = await newDir()
    await writeFile(cacheFile(dir, G2), pinned(G2.id))
    const err = await expectAzureError(() => resolveAzureRoots(certs({ cacheDir: dir, source: 'download', fetch: servingFetch(true).fetch }), context().ctx), 'CERT_UNAVAILABLE')
    assert.equal(err.errors.length, 2)
    for (const e of err.errors) assert.ok(e instanceof Error && /EHOSTUNREACH/.test(e.message))
  })

  it('still trusts a root on its last day, with a warning', async () => {
    clearRootMemo()
    const { warnings, ctx } = context(new Date('2031-11-09T12:00:00Z'))
    const roots = await resolveAzureRoots(certs({ source: 'bundled', cacheDir: await newDir() }), ctx)
    assert.equal(roots.length, 3)
    assert.ok(warnings.includes('DigiCert Global Root CA expires on 2031-11-10, in 0 days; update azure-pg-tls before then.'), warnings.join('\n'))
  })

  it('tells mirrors, credentials and bundled folders apart in its memo', () => {
    clearRootMemo()
    const { ctx } = context()
    const base = certs({ cacheDir: '/nonexistent-memo', source: 'bundled' })
    const cred = (p: string): MirrorCredentials => new MirrorCredentials('https://m.example', 'u', p, 'u', p)
    const pairs: Array<[Parameters<typeof resolveAzureRoots>, Parameters<typeof resolveAzureRoots>]> = [
      [[{ ...base, mirror: 'https://a.example' }, ctx], [{ ...base, mirror: 'https://b.example' }, ctx]],
      [[{ ...base, mirror: 'https://m.example', mirrorCredentials: cred('one') }, ctx], [{ ...base, mirror: 'https://m.example', mirrorCredentials: cred('two') }, ctx]],
      [[base, { ...ctx, bundledDir: '/nonexistent-a' }], [base, { ...ctx, bundledDir: '/nonexistent-b' }]],
    ]
    for (const [x, y] of pairs) {
      const px = resolveAzureRoots(...x)
      const py = resolveAzureRoots(...y)
      assert.notEqual(px, py)
      px.catch(() => undefined)
      py.catch(() => undefined)
    }
  })

  it('warns about a cache it cannot write when resolveRoot is called on its own', async () => {
    const blocker = join(await newDir(), 'file')
    await writeFile(blocker, 'x')
    const { warnings, ctx } = context()
    await resolveRoot(G2, certs({ cacheDir: join(blocker, 'cache'), source: 'download', fetch: servingFetch().fetch }), ctx)
    await settleBackgroundWork()
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /^Cannot write the certificate cache .* \(ENOTDIR\); keeping downloaded roots in memory\.$/)
  })

  it('in a refresh: warns once that the cache cannot be written, and about the marker only when nothing else was said', async () => {
    const blocked = async (): Promise<string> => {
      const blocker = join(await newDir(), 'file')
      await writeFile(blocker, 'x')
      return join(blocker, 'cache')
    }
    // G2 downloads (its cache write fails), the other two fail: no second warning about the marker.
    clearRootMemo()
    const partly: FetchFunction = async (url, init) => {
      if (url === G2.url) return servingFetch().fetch(url, init)
      throw Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })
    }
    const one = context()
    const dir1 = await blocked()
    await resolveAzureRoots(certs({ cacheDir: dir1, fetch: partly }), one.ctx)
    await settleBackgroundWork()
    assert.deepEqual(one.warnings.filter((w) => w.startsWith('Cannot')), [`Cannot write the certificate cache ${dir1} (ENOTDIR); the bundled copies stay in use.`])
    assert.equal(one.warnings.length, 3)
    // Every download fails: the marker cannot be written either, and that is said.
    clearRootMemo()
    const all = context()
    const dir2 = await blocked()
    await resolveAzureRoots(certs({ cacheDir: dir2, fetch: servingFetch(true).fetch }), all.ctx)
    await settleBackgroundWork()
    assert.deepEqual(all.warnings.filter((w) => w.startsWith('Cannot')), [`Cannot record the failed download in ${dir2} (ENOTDIR); the next process tries again.`])
  })

  it('names a root file under a file as ENOTDIR, follows a symbolic link to one, and lists each Azure root', async () => {
    const dir = await newDir()
    const { warnings, ctx } = { ...context(), ...{} }
    const trust = { ...ctx, certs: certs({ source: 'bundled', cacheDir: '/nonexistent' }) }
    await writeFile(join(dir, 'file'), 'x')
    const e = await expectAzureError(() => loadTrustAnchors({ kind: 'file', path: join(dir, 'file', 'roots.pem'), origin: 'sslrootcert' } as never, trust), 'INVALID_CONFIG')
    assert.match(e.message, /cannot be read \(ENOTDIR\)\.$/)
    await writeFile(join(dir, 'g2.pem'), pinned(G2.id))
    await symlink(join(dir, 'g2.pem'), join(dir, 'link.pem'))
    const linked = await loadTrustAnchors({ kind: 'file', path: join(dir, 'link.pem'), origin: 'sslrootcert' } as never, trust)
    assert.deepEqual((linked.ca as string[]).map(fingerprint), [G2.sha256])
    clearRootMemo()
    const azure = await loadTrustAnchors({ kind: 'azure' } as never, trust)
    assert.deepEqual((azure.ca as string[]).map(fingerprint), DEFAULT_IDS.map((id) => byId(id).sha256))
    assert.deepEqual(warnings, [])
  })

  it('warns about an expired root of the user that Azure never used, without advice about Azure', async () => {
    const foreign = rootCertificates.find((pem) => !AZURE_ROOTS.some((r) => r.sha256 === fingerprint(pem)))!
    const dir = await newDir()
    await writeFile(join(dir, 'own.pem'), foreign)
    const { warnings, ctx } = context(new Date('2200-01-01T00:00:00Z'))
    await loadTrustAnchors({ kind: 'file', path: join(dir, 'own.pem'), origin: 'sslrootcert' } as never, { ...ctx, certs: certs({ source: 'bundled', cacheDir: '/nonexistent' }) })
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', / expired on [^.]*GMT\.$/)
  })

  it('describes the custom tier, and what "good" lacks when only the roots are missing', () => {
    const azure = { kind: 'azure' as const }
    assert.equal(describeTier({ tls: { trust: { kind: 'file' }, extraSsl: {} }, certs: { roots: 'default' } }),
      'trust tier: custom (roots chosen with sslrootcert or ssl.ca; Microsoft\'s tiers assume Azure\'s roots)')
    assert.equal(describeTier({ tls: { trust: azure, extraSsl: { minVersion: 'TLSv1.3' } }, certs: { roots: 'default' } }),
      'trust tier: good (verify-full with Azure\'s roots); "best" needs certs.roots \'all\' (AZURE_PG_TLS_ROOTS=all)')
  })
})
