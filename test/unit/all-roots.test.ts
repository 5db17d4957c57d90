// certs.roots 'all' (Microsoft's complete set of Azure roots) and the trust tier, without a server.
// Each root's pin and expiry against Node's own root store is checked in test/unit/roots.test.ts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import { resolveSettings } from '../../src/config/resolve.js'
import type { AzurePgOptions } from '../../src/options.js'
import { AZURE_ROOTS, rootsOf } from '../../src/trust/roots.js'
import { describeTier, trustTier } from '../../src/trust/trust-tier.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

// The roots on Microsoft's "Azure Certificate Authority details" page that are valid today, as the issue
// and Microsoft's page name them (written here by hand, not taken from the manifest).
const MICROSOFT_LIST = [
  'DigiCert Global Root CA',
  'DigiCert Global Root G2',
  'DigiCert Global Root G3',
  'Microsoft ECC Root Certificate Authority 2017',
  'Microsoft RSA Root Certificate Authority 2017',
  'DigiCert TLS ECC P384 Root G5',
  'DigiCert TLS RSA4096 Root G5',
]
// Today's default set, by pin (Azure's PostgreSQL TLS page): unchanged by this feature.
const DEFAULT_PINS = [
  'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F',
  'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0',
  '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61',
]

describe('certs.roots "all": the pinned set', () => {
  it("is exactly Microsoft's list of current Azure roots", () => {
    assert.deepEqual(rootsOf('all').map((r) => r.name).sort(), [...MICROSOFT_LIST].sort())
  })

  it('leaves the default set as it was: G2, Microsoft RSA 2017, Global Root CA', () => {
    assert.deepEqual(rootsOf('default').map((r) => r.sha256).sort(), [...DEFAULT_PINS].sort())
    assert.ok(rootsOf('default').every((r) => rootsOf('all').includes(r)), '"all" includes the default set')
  })

  it('never includes the expired Baltimore CyberTrust Root', () => {
    const baltimore = AZURE_ROOTS.find((r) => r.name === 'Baltimore CyberTrust Root')
    assert.equal(baltimore?.trustedWithAll, false)
    assert.ok(!rootsOf('all').includes(baltimore!))
  })

  it('has an official https URL for every root, in the format the URL serves', () => {
    for (const root of rootsOf('all')) {
      assert.match(root.url, /^https:\/\/(cacerts\.digicert\.com\/[A-Za-z0-9]+\.crt\.pem|www\.microsoft\.com\/pkiops\/certs\/[A-Za-z0-9%]+\.crt)$/, root.name)
      assert.equal(root.format, root.url.endsWith('.pem') ? 'PEM' : 'DER', root.name)
      assert.ok(root.source.length > 0)
    }
  })
})

describe('certs.roots setting', () => {
  it('defaults to "default"; AZURE_PG_TLS_ROOTS sets it; the option wins', () => {
    assert.equal(resolveCertsSettings(undefined, {}).roots, 'default')
    assert.equal(resolveCertsSettings(undefined, { AZURE_PG_TLS_ROOTS: 'all' }).roots, 'all')
    assert.equal(resolveCertsSettings({ roots: 'default' }, { AZURE_PG_TLS_ROOTS: 'all' }).roots, 'default')
  })

  it('refuses anything else as INVALID_CONFIG naming the setting', () => {
    const err = expectAzureErrorSync(() => resolveCertsSettings(undefined, { AZURE_PG_TLS_ROOTS: 'every' }), 'INVALID_CONFIG')
    assert.match(err.message, /certs\.roots "every"/)
    expectAzureErrorSync(() => resolveCertsSettings({ roots: 'best' as 'all' }, {}), 'INVALID_CONFIG')
  })
})

describe('trustTier', () => {
  const azure = { kind: 'azure' as const }
  it('best: every Azure root and TLS 1.3 at least', () => {
    assert.equal(trustTier({ tls: { trust: azure, extraSsl: { minVersion: 'TLSv1.3' } }, certs: { roots: 'all' } }), 'best')
  })
  it('good: the default roots, or "all" without TLS 1.3', () => {
    assert.equal(trustTier({ tls: { trust: azure, extraSsl: {} }, certs: { roots: 'default' } }), 'good')
    assert.equal(trustTier({ tls: { trust: azure, extraSsl: { minVersion: 'TLSv1.3' } }, certs: { roots: 'default' } }), 'good')
    assert.equal(trustTier({ tls: { trust: azure, extraSsl: { minVersion: 'TLSv1.2' } }, certs: { roots: 'all' } }), 'good')
  })
  it('custom: roots the user chose, whatever else is set', () => {
    for (const kind of ['file', 'inline', 'system'] as const) {
      assert.equal(trustTier({ tls: { trust: { kind }, extraSsl: { minVersion: 'TLSv1.3' } }, certs: { roots: 'all' } }), 'custom')
    }
  })

  const HOST = 'mydemoserver.postgres.database.azure.com'
  const tierOf = (o: AzurePgOptions, env: Record<string, string> = {}): string => trustTier(resolveSettings({ host: HOST, user: 'u', ...o }, env))
  it('takes resolved Settings as they are', () => {
    assert.equal(tierOf({}), 'good')
    assert.equal(tierOf({ ssl: { minVersion: 'TLSv1.3' } }, { AZURE_PG_TLS_ROOTS: 'all' }), 'best')
    assert.equal(tierOf({ certs: { roots: 'all' }, ssl: { minVersion: 'TLSv1.3' } }), 'best')
    assert.equal(tierOf({ certs: { roots: 'all' } }), 'good')
    assert.equal(tierOf({ sslrootcert: '/etc/ssl/azure.pem' }), 'custom')
    assert.equal(tierOf({ connectionString: `host=${HOST} user=u sslrootcert=system` }), 'custom')
  })

  it('describes what is missing for "best"', () => {
    assert.match(describeTier({ tls: { trust: azure, extraSsl: {} }, certs: { roots: 'default' } }),
      /^trust tier: good .*"best" needs certs\.roots 'all' \(AZURE_PG_TLS_ROOTS=all\) and ssl\.minVersion 'TLSv1\.3'$/)
    assert.match(describeTier({ tls: { trust: azure, extraSsl: {} }, certs: { roots: 'all' } }), /"best" needs ssl\.minVersion 'TLSv1\.3'$/)
    assert.match(describeTier({ tls: { trust: azure, extraSsl: { minVersion: 'TLSv1.3' } }, certs: { roots: 'all' } }), /^trust tier: best/)
  })
})
