// Root resolution without a server: the fetch seam stands for a network that refuses every download.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import { AzurePgError } from '../../src/index.js'
import { clearRootMemo, resolveAzureRoots } from '../../src/trust/store.js'

describe('root resolution', () => {
  it('keeps every cause when no root can be had with source "download"', async () => {
    clearRootMemo()
    const blocked = async (): Promise<never> => { throw Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' }) }
    const settings = resolveCertsSettings({ source: 'download', cacheDir: '/nonexistent/azure-pg-tls-cache', fetch: blocked }, {})
    const err = await resolveAzureRoots(settings, { logger: { warn() {} }, now: () => new Date('2026-11-29T00:00:00Z') }).then(
      () => assert.fail('resolved without any root'), (e: unknown) => e)
    assert.ok(err instanceof AzurePgError)
    assert.equal(err.code, 'CERT_UNAVAILABLE')
    assert.equal(err.errors.length, 3, 'one cause per default root')
    for (const e of err.errors) {
      assert.ok(e instanceof AzurePgError && e.code === 'CERT_UNAVAILABLE')
      assert.match(e.message, /EHOSTUNREACH/)
    }
  })
})
