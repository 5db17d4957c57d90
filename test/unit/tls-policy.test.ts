import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveAzurePgConfig } from '../../src/index.js'
import { expectAzureError } from '../support/assert-error.js'
import { insecureSettings } from '../support/insecure-matrix.js'

const HOST = 'mydemoserver.postgres.database.azure.com'

describe('TLS policy', () => {
  for (const { name, options } of insecureSettings(5432)) {
    it(`refuses ${name}`, async () => {
      const err = await expectAzureError(() => resolveAzurePgConfig(options), 'INSECURE_TLS')
      assert.match(err.message, /refused before connecting/)
    })
  }

  it('raises require and verify-ca (in every spelling) to verify-full, with a warning', async () => {
    for (const sslmode of ['require', 'Require', 'required', 'verify-ca', 'VerifyCA', 'verify-full', 'VerifyFull']) {
      const warnings: string[] = []
      const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', sslmode, env: {}, logger: { warn: (m) => warnings.push(m) } })
      assert.equal(c.ssl.rejectUnauthorized, true, sslmode)
      assert.equal(c.ssl.servername, HOST, sslmode)
      assert.equal(warnings.some((w) => w.includes('raised to verify-full')), !/full/i.test(sslmode), sslmode)
    }
  })

  it('treats ssl=true in a string as a request for TLS, verified', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, connectionString: `jdbc:postgresql://${HOST}/db?ssl=true&user=u`, env: {} })
    assert.equal(c.ssl.rejectUnauthorized, true)
  })

  it('lets an explicit option beat an insecure environment', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', sslmode: 'verify-full', env: { PGSSLMODE: 'disable' } })
    assert.equal(c.ssl.rejectUnauthorized, true)
  })

  it('keeps safe TLS options and raises minVersion to TLSv1.2', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {}, ssl: { ciphers: 'HIGH', maxVersion: 'TLSv1.3' } })
    assert.equal(c.ssl.ciphers, 'HIGH')
    assert.equal(c.ssl.maxVersion, 'TLSv1.3')
    assert.equal(c.ssl.minVersion, 'TLSv1.2')
    assert.equal((await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {}, ssl: { minVersion: 'TLSv1.3' } })).ssl.minVersion, 'TLSv1.3')
  })

  it('refuses unknown sslmode and sslnegotiation values, client certificates, and a foreign servername', async () => {
    assert.match((await expectAzureError(() => resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', sslmode: 'strict', env: {} }), 'INVALID_CONFIG')).message, /sslmode "strict"/)
    await expectAzureError(() => resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: { PGSSLNEGOTIATION: 'sideways' } }), 'INVALID_CONFIG')
    await expectAzureError(() => resolveAzurePgConfig({ certs: { source: 'bundled' }, connectionString: `host=${HOST} user=u sslcert=c.pem sslkey=k.pem`, env: {} }), 'INVALID_CONFIG')
    await expectAzureError(() => resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {}, ssl: { servername: 'evil.example' } }), 'INVALID_CONFIG')
  })

  it('passes sslnegotiation=direct through', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', sslnegotiation: 'direct', env: {} })
    assert.equal((c as { sslnegotiation?: string }).sslnegotiation, 'direct')
  })
})
