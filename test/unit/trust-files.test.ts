// The trust store's checks on bytes and files, without a network: what a download must be
// (verifyRootBytes), what the cache accepts (readCachedRoot) and how it is written (writeCachedRoot),
// and the pin check of the bundled copies (readBundledRoot). Real files in temporary folders.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { copyFile, link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { cacheFile, readCachedRoot, writeCachedRoot } from '../../src/trust/cache.js'
import { verifyRootBytes } from '../../src/trust/download.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { readBundledRoot } from '../../src/trust/store.js'
import { expectAzureError } from '../support/assert-error.js'
import { tempDirs } from '../support/temp-dir.js'

const tempDir = tempDirs('unit')

// Pins written out here, not taken from the manifest under test.
const G2_PIN = 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F'
const MS_PIN = 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0'
const G2 = AZURE_ROOTS.find((r) => r.id === 'digicert-global-root-g2')!
const MS = AZURE_ROOTS.find((r) => r.id === 'microsoft-rsa-root-ca-2017')!
const G2_FILE = 'cb3ccbb76031e5e0138f8dd39a23f9de47ffc35e43c1144cea27d46a5ab1cb5f.pem'

const file = (path: string): Buffer => readFileSync(new URL(path, import.meta.url))
const g2Pem = file('../../certs/digicert-global-root-g2.pem')
const msDer = new X509Certificate(file('../../certs/microsoft-rsa-root-ca-2017.pem')).raw
const baltimore = file('../fixtures/BaltimoreCyberTrustRoot.crt.pem')
const leaf = file('../fixtures/leaf-not-ca.pem')
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256

describe('what a downloaded root must be (verifyRootBytes)', () => {
  it('accepts the pinned root as PEM or DER and returns it as PEM', () => {
    assert.equal(fingerprint(verifyRootBytes(G2, g2Pem, 'http://m/g2')), G2_PIN)
    const fromDer = verifyRootBytes(MS, msDer, 'http://m/ms')
    assert.match(fromDer, /^-----BEGIN CERTIFICATE-----\n/)
    assert.equal(fingerprint(fromDer), MS_PIN)
  })

  const refusals: Array<[string, Buffer, RegExp]> = [
    ['an empty body', Buffer.alloc(0), /the body is empty/],
    ['two certificates, the pinned one first', Buffer.concat([g2Pem, baltimore]), /expected one certificate, found 2/],
    ['a PEM with a begin marker and no end', g2Pem.subarray(0, g2Pem.indexOf('-----END')), /the PEM certificate is truncated/],
    ['a DER certificate followed by a stray begin marker', Buffer.concat([msDer, Buffer.from('\n-----BEGIN CERTIFICATE-----\n')]), /the PEM certificate is truncated/],
    ['an HTML page', Buffer.from('  <!DOCTYPE html><html><body>Sign in</body></html>'), /HTML or XML page/],
    ['bytes that are no certificate', Buffer.from('0123456789abcdef'), /not a certificate \(truncated or corrupt DER\)/],
    ['a certificate that is not a CA', leaf, /is not a CA certificate/],
  ]
  for (const [what, bytes, why] of refusals) {
    it(`refuses ${what} as CERT_UNAVAILABLE`, async () => {
      const err = await expectAzureError(() => verifyRootBytes(G2, bytes, 'http://user:secret@m/g2'), 'CERT_UNAVAILABLE')
      assert.match(err.message, why)
      assert.match(err.message, /^Downloading DigiCert Global Root G2 from http:\/\/m\/g2 failed: /, 'named, without the URL\'s user info')
    })
  }

  it('refuses another CA as CERT_PIN_MISMATCH, naming both fingerprints', async () => {
    const err = await expectAzureError(() => verifyRootBytes(G2, baltimore, 'http://m/g2'), 'CERT_PIN_MISMATCH')
    assert.match(err.message, /Baltimore CyberTrust Root with SHA-256 16:AF:57:A9/)
    assert.match(err.message, new RegExp(`not the pinned ${G2_PIN}`))
  })
})

describe('reading the cache (readCachedRoot)', () => {
  it('names each root\'s file by its pin in lower-case hex', () => {
    assert.equal(cacheFile('/c', G2), `/c/${G2_FILE}`)
  })

  it('hits on the pinned root, and misses when there is no file or no folder', async () => {
    const dir = await tempDir()
    assert.deepEqual(await readCachedRoot(join(dir, 'absent'), G2), { kind: 'miss' })
    await writeFile(join(dir, 'a-file'), 'x')
    assert.deepEqual(await readCachedRoot(join(dir, 'a-file'), G2), { kind: 'miss' }, 'a file where the folder should be (ENOTDIR)')
    await writeFile(join(dir, G2_FILE), g2Pem)
    const hit = await readCachedRoot(dir, G2)
    assert.equal(hit.kind, 'hit')
    assert.equal(hit.kind === 'hit' ? fingerprint(hit.pem) : '', G2_PIN)
  })

  const bad: Array<[string, (path: string) => Promise<void>, string]> = [
    ['two certificates, the pinned one first', (p) => writeFile(p, Buffer.concat([g2Pem, baltimore])), 'holds 2 certificates'],
    ['another root', (p) => writeFile(p, baltimore), 'does not match the pinned fingerprint'],
    ['a corrupted certificate', (p) => writeFile(p, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'), 'is not a certificate (corrupted)'],
    ['an empty file', (p) => writeFile(p, ''), 'holds 0 certificates'],
    ['a folder under the name', (p) => mkdir(p), 'is not a regular file (a directory)'],
  ]
  for (const [what, make, why] of bad) {
    it(`reports ${what} as bad: "${why}"`, async () => {
      const dir = await tempDir()
      await make(join(dir, G2_FILE))
      assert.deepEqual(await readCachedRoot(dir, G2), { kind: 'bad', why })
    })
  }
})

describe('writing the cache (writeCachedRoot)', () => {
  it('creates the folder, and renames a complete new file over the old one', async () => {
    const dir = join(await tempDir(), 'nested', 'cache')
    await writeCachedRoot(dir, G2, g2Pem.toString())
    assert.equal(fingerprint(await readFile(join(dir, G2_FILE), 'utf8')), G2_PIN)

    const held = join(await tempDir(), 'held.pem')
    await link(join(dir, G2_FILE), held)
    const before = (await stat(held)).ino
    await writeCachedRoot(dir, G2, `${g2Pem.toString().trim()}\n`)
    assert.notEqual((await stat(join(dir, G2_FILE))).ino, before, 'a new file took the name')
    assert.deepEqual(await readFile(held), g2Pem, 'the old file, as a reader holds it, is unchanged')
    assert.deepEqual(await readdir(dir), [G2_FILE], 'no temporary file left')
  })

  it('throws, leaving no temporary file, when the file cannot be put in place', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, G2_FILE))
    await writeFile(join(dir, G2_FILE, 'inside'), 'x')
    await assert.rejects(writeCachedRoot(dir, G2, g2Pem.toString()), (err: NodeJS.ErrnoException) => err.code !== undefined)
    assert.deepEqual(await readdir(dir), [G2_FILE])
  })

  it('throws when the folder cannot be created', async () => {
    const blocker = join(await tempDir(), 'a-file')
    await writeFile(blocker, 'x')
    await assert.rejects(writeCachedRoot(join(blocker, 'cache'), G2, g2Pem.toString()), { code: 'ENOTDIR' })
  })
})

describe('the bundled copies (readBundledRoot)', () => {
  it('returns a bundled root that matches its pin', async () => {
    assert.equal(fingerprint(await readBundledRoot(G2)), G2_PIN)
  })

  it('refuses a copy that does not match its pin, and one that cannot be read; a failure is not remembered', async () => {
    const dir = await tempDir()
    await expectAzureError(() => readBundledRoot(G2, dir), 'CERT_UNAVAILABLE')
    await copyFile(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url), join(dir, `${G2.id}.pem`))
    const err = await expectAzureError(() => readBundledRoot(G2, dir), 'CERT_PIN_MISMATCH')
    assert.match(err.message, /bundled copy of DigiCert Global Root G2 .* does not match its pinned fingerprint/)
    await writeFile(join(dir, `${G2.id}.pem`), g2Pem)
    assert.equal(fingerprint(await readBundledRoot(G2, dir)), G2_PIN)
  })
})
