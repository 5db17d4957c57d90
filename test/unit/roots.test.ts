import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { AZURE_ROOTS } from '../../src/index.js'

const certsDir = fileURLToPath(new URL('../../certs/', import.meta.url))
const factsPath = fileURLToPath(new URL('../../docs/azure-facts.md', import.meta.url))
const baltimoreFixture = fileURLToPath(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url))

/** The rows (cells trimmed, outer pipes dropped) of the first table under a `## heading` of docs/azure-facts.md. */
function factsTable(heading: string): string[][] {
  const lines = readFileSync(factsPath, 'utf8').split('\n')
  const start = lines.indexOf(`## ${heading}`)
  assert.ok(start >= 0, `docs/azure-facts.md has a section "${heading}"`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break
    if (!line.startsWith('|')) { if (rows.length > 0) break; continue }
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()))
  }
  // Header and separator rows are not data.
  return rows.slice(2)
}

/** Node's built-in roots by common name: a source of the certificates independent of this repository. */
const nodeRoots = new Map(rootCertificates.map((pem) => {
  const cert = new X509Certificate(pem)
  return [/^CN=(.*)$/m.exec(cert.subject)?.[1] ?? '', cert] as const
}))

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

describe('manifest against docs/azure-facts.md', () => {
  it('agrees on every pinned root: URL, format, pin and expiry', () => {
    const rows = factsTable('Root CAs the SDK pins')
    assert.deepEqual(rows.map((r) => r[0]).sort(), AZURE_ROOTS.map((r) => r.name).sort())
    for (const root of AZURE_ROOTS) {
      const row = rows.find((r) => r[0] === root.name)
      assert.ok(row !== undefined, `${root.name} is in docs/azure-facts.md`)
      assert.equal(row[2], root.url, root.name)
      assert.equal(row[3], root.format, root.name)
      assert.equal(row[4], `\`${root.sha256}\``, root.name)
      assert.ok(row[5]?.startsWith(root.notAfter), `${root.name} expiry ${root.notAfter} vs ${row[5] ?? ''}`)
    }
  })

  it('trusts the complete Azure set with certs.roots "all", and by default the rows marked for the default set', () => {
    const rows = factsTable("Azure's complete root set")
    assert.equal(rows.length, 7, "Microsoft's list names seven roots")
    assert.deepEqual(rows.map((r) => r[0]).sort(), AZURE_ROOTS.filter((r) => r.trustedWithAll).map((r) => r.name).sort(), 'certs.roots "all" is this set')
    const pinned = rows.filter((r) => r[4] === 'yes')
    assert.deepEqual(pinned.map((r) => r[0]).sort(), AZURE_ROOTS.filter((r) => r.trustedByDefault).map((r) => r.name).sort(), 'the default set')
    for (const row of pinned) {
      assert.equal(row[2], `\`${AZURE_ROOTS.find((r) => r.name === row[0])?.sha256 ?? ''}\``, row[0])
    }
  })

  it("gives every root of the complete set the fingerprint and expiry of Node's built-in copy", () => {
    for (const [name, , fingerprint, notAfter] of factsTable("Azure's complete root set")) {
      const cert = nodeRoots.get(name ?? '')
      assert.ok(cert !== undefined, `${name ?? ''} is in tls.rootCertificates`)
      assert.equal(fingerprint, `\`${cert.fingerprint256}\``, name)
      assert.equal(new Date(cert.validTo).toISOString().slice(0, 10), notAfter, name)
    }
  })
})

describe("manifest against independent copies (Node's tls.rootCertificates; Baltimore from test/fixtures)", () => {
  for (const root of AZURE_ROOTS) {
    it(`${root.name}: pin and expiry match the independent copy`, () => {
      const cert = root.name === 'Baltimore CyberTrust Root'
        ? new X509Certificate(readFileSync(baltimoreFixture))
        : nodeRoots.get(root.name)
      assert.ok(cert !== undefined, `${root.name} is in tls.rootCertificates`)
      assert.equal(cert.fingerprint256, root.sha256)
      assert.equal(new Date(cert.validTo).toISOString().slice(0, 10), root.notAfter)
      assert.ok(cert.ca, 'a root is a CA')
    })
  }
})
