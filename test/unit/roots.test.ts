import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { AZURE_ROOTS } from '../../src/index.js'

const certsDir = fileURLToPath(new URL('../../certs/', import.meta.url))
const factsPath = process.env['AZURE_PG_TLS_FACTS'] ?? fileURLToPath(new URL('../../../shared/AZURE-FACTS.md', import.meta.url))

describe('bundled roots (certs/)', () => {
  it('holds exactly the current roots of the manifest (the default set and the rest of certs.roots "all")', () => {
    assert.deepEqual(readdirSync(certsDir).sort(), AZURE_ROOTS.filter((r) => r.trustedWithAll).map((r) => `${r.id}.pem`).sort())
  })

  for (const root of AZURE_ROOTS.filter((r) => r.trustedWithAll)) {
    it(`${root.id}.pem is ${root.name}, matching its pin and expiry`, () => {
      const cert = new X509Certificate(readFileSync(`${certsDir}${root.id}.pem`))
      assert.equal(cert.fingerprint256, root.sha256)
      assert.match(cert.subject, new RegExp(`CN=${root.name}`))
      assert.ok(cert.ca, 'a root is a CA')
      assert.equal(new Date(cert.validTo).toISOString().slice(0, 10), root.notAfter)
    })
  }

  it('never trusts Baltimore CyberTrust Root by default', () => {
    const baltimore = AZURE_ROOTS.find((r) => r.name === 'Baltimore CyberTrust Root')
    assert.equal(baltimore?.trustedByDefault, false)
  })
})

describe('manifest against ../shared/AZURE-FACTS.md', () => {
  it('agrees on every root: URL, format, pin and expiry', () => {
    assert.ok(existsSync(factsPath), `AZURE-FACTS.md not found at ${factsPath} (set AZURE_PG_TLS_FACTS to its path)`)
    const rows = readFileSync(factsPath, 'utf8').split('\n')
      .filter((l) => /^\| (DigiCert|Microsoft|Baltimore)/.test(l))
      .map((l) => l.split('|').map((c) => c.trim()))
    // The table lists the roots PostgreSQL servers chain to (and the legacy one); the rest of the "all" set
    // is named in its notes and checked against Node's root store in all-roots.test.ts.
    const tabled = AZURE_ROOTS.filter((r) => r.trustedByDefault || !r.trustedWithAll)
    assert.equal(rows.length, tabled.length)
    for (const root of tabled) {
      const row = rows.find((r) => r[1]?.startsWith(root.name))
      assert.ok(row !== undefined, `${root.name} is in AZURE-FACTS.md`)
      assert.equal(row[3], root.url)
      assert.equal(row[4], root.format)
      assert.equal(row[5], `\`${root.sha256}\``)
      assert.ok(row[6]?.includes(root.notAfter), `${root.name} expiry ${root.notAfter} vs ${row[6] ?? ''}`)
    }
  })
})
