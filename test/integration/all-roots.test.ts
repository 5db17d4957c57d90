// certs.roots 'all' against a real mirror on 127.0.0.1: the same pinned set of seven roots whether they are
// downloaded, read from the cache or taken from the bundled copies; and what `certs status` says.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { describe, it } from 'node:test'
import { resolveAzurePgConfig } from '../../src/index.js'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import type { CertsOptions } from '../../src/options.js'
import { clearRootMemo, resolveAzureRoots, settleBackgroundWork, type ResolvedRoot } from '../../src/trust/store.js'
import { sharedMirror } from '../support/shared-mirror.js'
import { tempDirs } from '../support/temp-dir.js'
import { runCliCaptured } from '../support/cli.js'

const NAMES = [
  'DigiCert Global Root CA', 'DigiCert Global Root G2', 'DigiCert Global Root G3',
  'Microsoft ECC Root Certificate Authority 2017', 'Microsoft RSA Root Certificate Authority 2017',
  'DigiCert TLS ECC P384 Root G5', 'DigiCert TLS RSA4096 Root G5',
]
/** The expected fingerprints, from Node's root store: a source independent of the manifest. */
const EXPECTED = rootCertificates.map((pem) => new X509Certificate(pem))
  .filter((c) => NAMES.includes(/^CN=(.*)$/m.exec(c.subject)?.[1] ?? ''))
  .map((c) => c.fingerprint256).sort()

const tempDir = tempDirs('all-roots')
const pins = (roots: readonly ResolvedRoot[]): string[] => roots.map((r) => new X509Certificate(r.pem).fingerprint256).sort()
const origins = (roots: readonly ResolvedRoot[]): string[] => [...new Set(roots.map((r) => r.origin))]

function resolveWith(options: CertsOptions): Promise<readonly ResolvedRoot[]> {
  return resolveAzureRoots(resolveCertsSettings({ roots: 'all', ...options }, {}), { logger: { warn() {} }, now: () => new Date() })
}

const lab = sharedMirror()

describe('certs.roots "all" resolves to exactly the pinned set', () => {
  it('has seven independent expectations to compare with', () => {
    assert.equal(EXPECTED.length, 7)
  })

  it('by download (every root from the mirror, PEM and DER), then from the cache', async () => {
    const cacheDir = await tempDir()
    const downloaded = await resolveWith({ source: 'download', mirror: lab.current.url, cacheDir })
    assert.deepEqual(pins(downloaded), EXPECTED)
    assert.deepEqual(origins(downloaded), ['download'])
    assert.equal(lab.current.total(), 7)
    assert.ok([...lab.current.requests.keys()].includes('/Microsoft%20ECC%20Root%20Certificate%20Authority%202017.crt'))
    await settleBackgroundWork()
    assert.equal((await readdir(cacheDir)).length, 7)

    clearRootMemo()
    lab.current.requests.clear()
    const cached = await resolveWith({ mirror: lab.current.url, cacheDir })
    assert.deepEqual(pins(cached), EXPECTED)
    assert.deepEqual(origins(cached), ['cache'])
    await settleBackgroundWork()
    assert.equal(lab.current.total(), 0)
  })

  it('from the bundled copies (source "bundled", and auto on a cold start)', async () => {
    const bundled = await resolveWith({ source: 'bundled' })
    assert.deepEqual(pins(bundled), EXPECTED)
    assert.deepEqual(origins(bundled), ['bundled'])
    clearRootMemo()
    const cold = await resolveWith({ mirror: lab.current.url, cacheDir: await tempDir() })
    assert.deepEqual(pins(cold), EXPECTED)
    assert.deepEqual(origins(cold), ['bundled'])
  })

  it('reaches the connection config: seven CA certificates; the default stays at three', async () => {
    const base = { host: 'mydemoserver.postgres.database.azure.com', user: 'u', env: {} }
    const all = await resolveAzurePgConfig({ ...base, certs: { source: 'bundled', roots: 'all' }, ssl: { minVersion: 'TLSv1.3' } })
    const ca = all.ssl.ca as string[]
    assert.deepEqual(ca.map((p) => new X509Certificate(p).fingerprint256).sort(), EXPECTED)
    assert.equal(all.ssl.minVersion, 'TLSv1.3')
    const byDefault = await resolveAzurePgConfig({ ...base, certs: { source: 'bundled' } })
    assert.equal((byDefault.ssl.ca as string[]).length, 3)
  })
})

describe('certs status shows the set and the tier', () => {
  async function status(env: Record<string, string>, json = false): Promise<{ code: number; out: string }> {
    const { code, all } = await runCliCaptured(['certs', 'status', '--offline', ...(json ? ['--json'] : [])], { env })
    return { code, out: all }
  }

  it('default: three roots trusted, the rest of the set listed, tier "good" with what "best" needs', async () => {
    const r = await status({ AZURE_PG_TLS_CACHE_DIR: await tempDir() })
    assert.equal(r.code, 0)
    assert.match(r.out, /^DigiCert Global Root G3\s+no \(roots: all\)\s+bundled\s+ok \(pinned SHA-256\)/m)
    assert.match(r.out, /^trust tier: good .*"best" needs certs\.roots 'all'/m)
    assert.match(r.out, /3 of 3 Azure roots available/)
  })

  it('AZURE_PG_TLS_ROOTS=all: seven trusted; --json carries the set and the tier', async () => {
    const dir = await tempDir()
    const r = await status({ AZURE_PG_TLS_CACHE_DIR: dir, AZURE_PG_TLS_ROOTS: 'all' })
    assert.match(r.out, /^DigiCert TLS RSA4096 Root G5\s+yes\s+bundled/m)
    assert.match(r.out, /"best" needs ssl\.minVersion 'TLSv1\.3'$/m)
    assert.match(r.out, /7 of 7 Azure roots available/)
    const json = JSON.parse((await status({ AZURE_PG_TLS_CACHE_DIR: dir, AZURE_PG_TLS_ROOTS: 'all' }, true)).out) as { rootSet: string; tier: string; roots: Array<{ trusted: boolean }> }
    assert.equal(json.rootSet, 'all')
    assert.equal(json.tier, 'good')
    assert.equal(json.roots.filter((x) => x.trusted).length, 7)
  })
})
