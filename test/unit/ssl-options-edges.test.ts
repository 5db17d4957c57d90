// Edges of the ssl allow-list that mutation testing showed unguarded (docs/testing.md, "Mutation testing"): the
// safe value next to each refused one, and what the refusals say. Pure: acceptSsl called directly.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { rootCertificates } from 'node:tls'
import { acceptSsl, keyForMessage } from '../../src/config/ssl-options.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
// A plain copy of what was accepted (acceptSsl answers with a null-prototype object), for deepEqual.
const accept = (ssl: Record<string, unknown>) => ({ ...acceptSsl(ssl, HOST, 'option "ssl"') })

describe('ssl allow-list edges', () => {
  it('accepts rejectUnauthorized: true, and a key set to undefined however dangerous the key', () => {
    assert.deepEqual(accept({ rejectUnauthorized: true }), {})
    assert.deepEqual(accept({ checkServerIdentity: undefined, secureContext: undefined, key: undefined, ca: undefined }), {})
  })

  it('accepts a ca given as a Buffer of PEM, alone or in an array', () => {
    const pem = Buffer.from(rootCertificates[0] ?? '')
    assert.deepEqual(accept({ ca: pem }), { ca: pem })
    assert.deepEqual(accept({ ca: [pem] }), { ca: [pem] })
  })

  it('accepts TLS 1.2 as the lower and as the upper bound, alone or together', () => {
    assert.deepEqual(accept({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' }), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' })
    assert.deepEqual(accept({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }), { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })
    assert.deepEqual(accept({ maxVersion: 'TLSv1.2' }), { maxVersion: 'TLSv1.2' })
  })

  it('refuses a cipher list of blanks as no list at all', () => {
    expectAzureErrorSync(() => accept({ ciphers: '  ' }), 'INVALID_CONFIG')
  })

  it('keeps cipher terms that remove or disable a suite: "-RC4" and "!DES" take weak suites away', () => {
    assert.equal(accept({ ciphers: 'HIGH:-RC4:!DES:-aNULL' }).ciphers?.startsWith('HIGH:-RC4:!DES:-aNULL:'), true)
    expectAzureErrorSync(() => accept({ ciphers: 'HIGH:+RC4' }), 'INSECURE_TLS')
  })

  it('refuses a weak word joined to another by "+", and the export aliases EXP and EXPORT56', () => {
    for (const ciphers of ['ECDHE+NULL', 'ECDHE+aNULL', 'EXP', 'EXPORT56']) expectAzureErrorSync(() => accept({ ciphers }), 'INSECURE_TLS')
  })

  it('reads a security level of several digits: @SECLEVEL=00 is level 0', () => {
    expectAzureErrorSync(() => accept({ ciphers: 'HIGH:@SECLEVEL=00' }), 'INSECURE_TLS')
    assert.equal(accept({ ciphers: 'HIGH:@SECLEVEL=10' }).ciphers?.startsWith('HIGH:@SECLEVEL=10:'), true)
  })

  it('says why a client certificate is refused, not only that the key is unknown', () => {
    for (const key of ['key', 'cert', 'pfx', 'passphrase']) {
      const err = expectAzureErrorSync(() => accept({ [key]: 'x' }), 'INVALID_CONFIG')
      assert.match(err.message, new RegExp(`^ssl\\.${key} \\(option "ssl"\\) sets a client certificate`), key)
    }
  })

  it('lists the accepted keys when it refuses an unknown one', () => {
    const err = expectAzureErrorSync(() => accept({ requestOCSP: true }), 'INVALID_CONFIG')
    assert.equal(err.hint, 'Accepted ssl settings: ca, rejectUnauthorized, servername, minVersion, maxVersion, ciphers, ecdhCurve.')
  })

  it('names a key only when the whole key is an identifier: a pasted secret ending in letters is not printed', () => {
    assert.equal(keyForMessage('minVersion'), 'ssl.minVersion')
    assert.equal(keyForMessage('p@ss w0rd'), 'an ssl key')
    assert.equal(keyForMessage('9lives'), 'an ssl key')
  })
})
