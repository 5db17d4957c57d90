// The TLS policy. The pure decision (decideTls, through resolveSettings for the merged input) is
// checked directly and synchronously on what it decided; the public API's refusals follow.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { rootCertificates } from 'node:tls'
import { resolveSettings } from '../../src/config/resolve.js'
import { decideTls, type TlsInput } from '../../src/config/tls-policy.js'
import { resolveAzurePgConfig } from '../../src/index.js'
import type { AzurePgOptions } from '../../src/options.js'
import { expectAzureError, expectAzureErrorSync } from '../support/assert-error.js'
import { insecureSettings } from '../support/insecure-matrix.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const PEM = rootCertificates[0] ?? ''
const none: TlsInput = {
  host: HOST, sslmode: undefined, ssl: undefined, sslrootcert: undefined, trustServerCertificate: undefined,
  sslfactory: undefined, clientCertificate: undefined, sslnegotiation: undefined,
}
const opt = (value: string, name = 'sslmode') => ({ value, origin: `option "${name}"`, source: 'option' as const })


describe('decideTls (pure)', () => {
  it('decides verify-full against Azure roots when nothing is set', () => {
    assert.deepEqual(decideTls(none), {
      requestedMode: 'verify-full', strengthened: false, trust: { kind: 'azure' }, extraSsl: {}, sslnegotiation: 'auto', servername: HOST,
    })
  })

  it('raises require and verify-ca (in every spelling) to verify-full, and says it did', () => {
    const cases: Array<[string, string, boolean]> = [
      ['require', 'require', true], ['Require', 'require', true], ['required', 'require', true],
      ['verify-ca', 'verify-ca', true], ['VerifyCA', 'verify-ca', true], ['verify-full', 'verify-full', false], ['VerifyFull', 'verify-full', false],
    ]
    for (const [given, mode, strengthened] of cases) {
      const d = decideTls({ ...none, sslmode: opt(given) })
      assert.deepEqual([d.requestedMode, d.strengthened], [mode, strengthened], given)
    }
  })

  it('refuses every mode below verify-full', () => {
    for (const mode of ['disable', 'allow', 'prefer', 'no-verify', 'Disable', 'Prefer']) {
      assert.equal(expectAzureErrorSync(() => decideTls({ ...none, sslmode: opt(mode) })).code, 'INSECURE_TLS', mode)
    }
  })

  it('keeps only the TLS options it was given that do not weaken verification', () => {
    const d = decideTls({ ...none, ssl: { ciphers: 'HIGH', maxVersion: 'TLSv1.3' } })
    assert.deepEqual(d.extraSsl, { ciphers: 'HIGH:!aNULL:!eNULL:!EXPORT:!LOW:!RC4:!DES:!3DES:!MD5:!PSK:!SRP', maxVersion: 'TLSv1.3' })
  })

  it('takes ssl.ca as the trust set, and a matching servername', () => {
    const d = decideTls({ ...none, ssl: { ca: PEM, servername: HOST.toUpperCase() } })
    assert.deepEqual(d.trust, { kind: 'inline', ca: PEM })
    assert.equal(expectAzureErrorSync(() => decideTls({ ...none, ssl: { servername: 'evil.example' } })).code, 'INVALID_CONFIG')
  })

  it('names no server for an IP literal host: the certificate is checked against its IP addresses', () => {
    assert.equal(decideTls({ ...none, host: '10.1.2.3' }).servername, undefined)
    assert.equal(decideTls({ ...none, host: '::1' }).servername, undefined)
  })

  it('reads sslnegotiation, refusing unknown values', () => {
    assert.equal(decideTls({ ...none, sslnegotiation: opt('Direct', 'sslnegotiation') }).sslnegotiation, 'direct')
    assert.equal(expectAzureErrorSync(() => decideTls({ ...none, sslnegotiation: opt('sideways', 'sslnegotiation') })).code, 'INVALID_CONFIG')
  })
})

describe('TLS policy on merged settings (pure)', () => {
  const decide = (options: AzurePgOptions, env: Record<string, string> = {}) => resolveSettings({ host: HOST, user: 'u', ...options }, env).tls

  it('treats ssl=true in a string as require, raised to verify-full', () => {
    const tls = decide({ host: undefined, user: undefined, connectionString: `jdbc:postgresql://${HOST}/db?ssl=true&user=u` })
    assert.deepEqual([tls.requestedMode, tls.strengthened], ['require', true])
  })

  it('lets sslmode in a string beat the ssl shorthand beside it', () => {
    const tls = decide({ host: undefined, user: undefined, connectionString: `postgresql://u@${HOST}/db?ssl=true&sslmode=verify-full` })
    assert.deepEqual([tls.requestedMode, tls.strengthened], ['verify-full', false])
  })

  it('warns when it raised the mode, and only then', () => {
    const warned = (sslmode: string) => resolveSettings({ host: HOST, user: 'u', sslmode }, {}).warnings.some((w) => w.includes('raised to verify-full'))
    assert.deepEqual(['require', 'verify-ca', 'verify-full'].map(warned), [true, true, false])
  })

  it('lets an explicit option beat an insecure environment', () => {
    assert.equal(decide({ sslmode: 'verify-full' }, { PGSSLMODE: 'disable' }).requestedMode, 'verify-full')
  })

  it('refuses an insecure environment when nothing beats it', () => {
    assert.equal(expectAzureErrorSync(() => decide({}, { PGSSLMODE: 'prefer' })).code, 'INSECURE_TLS')
  })

  it('refuses client certificates from a string or the environment', () => {
    assert.equal(expectAzureErrorSync(() => decide({ host: undefined, connectionString: `host=${HOST} user=u sslcert=c.pem sslkey=k.pem` })).code, 'INVALID_CONFIG')
    assert.equal(expectAzureErrorSync(() => decide({}, { PGSSLCERT: '/c.pem' })).code, 'INVALID_CONFIG')
  })
})

describe('TLS policy through the public API', () => {
  for (const { name, options } of insecureSettings(5432)) {
    it(`refuses ${name}`, async () => {
      const err = await expectAzureError(() => resolveAzurePgConfig(options), 'INSECURE_TLS')
      assert.match(err.message, /refused before connecting/)
    })
  }

  it('puts the decision into the pg configuration: verified, with the servername and minVersion', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {}, ssl: { ciphers: 'HIGH', minVersion: 'TLSv1.3' }, sslnegotiation: 'direct' })
    assert.deepEqual([c.ssl.rejectUnauthorized, c.ssl.servername, c.ssl.minVersion, c.ssl.ciphers], [true, HOST, 'TLSv1.3', 'HIGH:!aNULL:!eNULL:!EXPORT:!LOW:!RC4:!DES:!3DES:!MD5:!PSK:!SRP'])
    assert.equal((c as { sslnegotiation?: string }).sslnegotiation, 'direct')
    assert.equal((await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {} })).ssl.minVersion, 'TLSv1.2')
  })
})
