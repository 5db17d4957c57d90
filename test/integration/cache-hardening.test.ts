// The certificate cache cannot hang or bloat the process: hostile files planted under a root's cache name,
// a cache folder that cannot exist, and a folder others can write to. Every test has a time limit; none
// measures time. Real files, FIFOs and a real HTTP mirror on 127.0.0.1.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { chmod, lstat, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import type { CertsOptions } from '../../src/options.js'
import { clearRootMemo, resolveAzureRoots, settleBackgroundWork, type ResolvedRoot } from '../../src/trust/store.js'
import { sharedMirror } from '../support/shared-mirror.js'
import { tempDirs } from '../support/temp-dir.js'

const run = promisify(execFile)
const LIMIT = { timeout: 30_000 }

// Pins copied from Azure's documentation (and Node's root store), not from the code under test.
const PINS = {
  g2: 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F',
  ms: 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0',
  g1: '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61',
}
const G2_FILE = `${PINS.g2.replace(/:/g, '').toLowerCase()}.pem`

const tempDir = tempDirs('cache-hard')

async function resolveWith(options: CertsOptions): Promise<{ roots: readonly ResolvedRoot[]; warnings: string[] }> {
  const warnings: string[] = []
  const roots = await resolveAzureRoots(resolveCertsSettings(options, {}), { logger: { warn: (m) => warnings.push(m) }, now: () => new Date() })
  return { roots, warnings }
}

const byPin = (roots: readonly ResolvedRoot[]): Map<string, string> =>
  new Map(roots.map((r) => [new X509Certificate(r.pem).fingerprint256, r.origin]))

const lab = sharedMirror()

describe('hostile files under a root\'s cache name', () => {
  it('a FIFO is refused without blocking; the bundled copy is used; a download replaces it', LIMIT, async () => {
    const cacheDir = await tempDir()
    await run('mkfifo', [join(cacheDir, G2_FILE)])
    const offline = await resolveWith({ offline: true, cacheDir })
    assert.equal(byPin(offline.roots).get(PINS.g2), 'bundled')
    assert.deepEqual([...byPin(offline.roots).keys()].sort(), Object.values(PINS).sort())
    assert.ok(offline.warnings.some((w) => /cached copy of DigiCert Global Root G2 .* is not a regular file \(a FIFO\)/.test(w)), offline.warnings.join('\n'))

    clearRootMemo()
    const online = await resolveWith({ mirror: lab.current.url, cacheDir })
    assert.equal(byPin(online.roots).get(PINS.g2), 'bundled', 'auto does not wait for the download')
    await settleBackgroundWork()
    assert.ok((await lstat(join(cacheDir, G2_FILE))).isFile(), 'the background refresh renamed a real file over the FIFO')
    assert.equal(new X509Certificate(await readFile(join(cacheDir, G2_FILE))).fingerprint256, PINS.g2)
  })

  it('a symlink to /dev/zero is refused without reading it', LIMIT, async () => {
    const cacheDir = await tempDir()
    await symlink('/dev/zero', join(cacheDir, G2_FILE))
    const { roots, warnings } = await resolveWith({ offline: true, cacheDir })
    assert.equal(byPin(roots).get(PINS.g2), 'bundled')
    assert.ok(warnings.some((w) => /cached copy of DigiCert Global Root G2 .* is a symbolic link/.test(w)), warnings.join('\n'))
  })

  it('a file larger than 64 KiB is refused (a root is 1-2 KiB)', LIMIT, async () => {
    const cacheDir = await tempDir()
    const pem = await readFile(new URL('../../certs/digicert-global-root-g2.pem', import.meta.url), 'utf8')
    await writeFile(join(cacheDir, G2_FILE), pem + '\n'.repeat(64 * 1024))
    const { roots, warnings } = await resolveWith({ offline: true, cacheDir })
    assert.equal(byPin(roots).get(PINS.g2), 'bundled')
    assert.ok(warnings.some((w) => /cached copy of DigiCert Global Root G2 .* is larger than 64 KiB/.test(w)), warnings.join('\n'))
  })

  it('a directory under the name is refused', LIMIT, async () => {
    const cacheDir = await tempDir()
    await run('mkdir', [join(cacheDir, G2_FILE)])
    const { roots, warnings } = await resolveWith({ offline: true, cacheDir })
    assert.equal(byPin(roots).get(PINS.g2), 'bundled')
    assert.ok(warnings.some((w) => /is not a regular file \(a directory\)/.test(w)), warnings.join('\n'))
  })
})

describe('a cache folder that cannot exist', () => {
  const impossible = join('/proc', `azure-pg-tls-test-${process.pid}`, 'cache')

  it('under /proc: a download is used, the write gives up with one warning instead of spinning', LIMIT, async () => {
    const { roots, warnings } = await resolveWith({ source: 'download', mirror: lab.current.url, cacheDir: impossible })
    assert.ok(roots.every((r) => r.origin === 'download'))
    await settleBackgroundWork()
    assert.equal(warnings.length, 1, warnings.join('\n'))
    assert.match(warnings[0] ?? '', /Cannot write the certificate cache \/proc\/.* \(ENOENT\); keeping downloaded roots in memory/)
  })

  it('under /proc in auto: bundled at once, the background refresh warns and ends', LIMIT, async () => {
    const { roots, warnings } = await resolveWith({ mirror: lab.current.url, cacheDir: impossible })
    assert.ok(roots.every((r) => r.origin === 'bundled'))
    await settleBackgroundWork()
    assert.equal(lab.current.total(), 3, 'the refresh downloaded')
    assert.equal(warnings.filter((w) => /Cannot write the certificate cache \/proc\/.* \(ENOENT\); the bundled copies stay in use/.test(w)).length, 1, warnings.join('\n'))
  })

  it('a nested folder that can exist is still created, level by level', LIMIT, async () => {
    const cacheDir = join(await tempDir(), 'a', 'b', 'c')
    await resolveWith({ source: 'download', mirror: lab.current.url, cacheDir })
    await settleBackgroundWork()
    assert.equal((await readdir(cacheDir)).length, 3)
  })
})

describe('a cache folder others can write to', () => {
  it('is warned about once, like ssh does about key files; resolution goes on', LIMIT, async () => {
    const cacheDir = await tempDir()
    await chmod(cacheDir, 0o777)
    const first = await resolveWith({ offline: true, cacheDir })
    assert.equal(first.roots.length, 3)
    const shared = first.warnings.filter((w) => w.includes('writable by'))
    assert.equal(shared.length, 1, first.warnings.join('\n'))
    assert.match(shared[0] ?? '', /cache folder .* is writable by every user \(mode 0777\).*chmod go-w/)
    clearRootMemo()
    const second = await resolveWith({ offline: true, cacheDir })
    assert.deepEqual(second.warnings.filter((w) => w.includes('writable by')), [], 'once per folder')
  })

  it('says "its group" for a group-writable folder, and nothing for a private one', LIMIT, async () => {
    const groupDir = await tempDir()
    await chmod(groupDir, 0o775)
    const group = await resolveWith({ offline: true, cacheDir: groupDir })
    assert.equal(group.warnings.filter((w) => /writable by its group \(mode 0775\)/.test(w)).length, 1, group.warnings.join('\n'))
    clearRootMemo()
    const privateDir = await tempDir()
    await chmod(privateDir, 0o700)
    const mine = await resolveWith({ offline: true, cacheDir: privateDir })
    assert.deepEqual(mine.warnings, [])
  })
})
