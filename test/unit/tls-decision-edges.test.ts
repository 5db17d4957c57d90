// More edges of the TLS decision that the first grouped mutation run (docs/testing.md, "Mutation testing")
// showed unguarded: a value of the wrong type must be refused as INVALID_CONFIG, never crash with a
// TypeError; an exclusion of a weak suite by its full name is not a request for it; sslrootcert=system
// means Node's roots. Pure: acceptSsl and decideTls called directly.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { acceptSsl } from '../../src/config/ssl-options.js'
import { decideTls, type TlsInput } from '../../src/config/tls-policy.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const accept = (ssl: Record<string, unknown>) => ({ ...acceptSsl(ssl, HOST, 'option "ssl"') })

describe('ssl values of the wrong type', () => {
  for (const key of ['ciphers', 'ecdhCurve', 'servername']) {
    for (const value of [42, ['X25519'], { toLowerCase: () => HOST }]) {
      it(`refuses ssl.${key} = ${JSON.stringify(value)} as INVALID_CONFIG`, () => {
        expectAzureErrorSync(() => acceptSsl({ [key]: value }, HOST, 'option "ssl"'), 'INVALID_CONFIG')
      })
    }
  }
})

describe('cipher exclusions', () => {
  it('accepts the exclusion of a weak suite written by its full name', () => {
    for (const ciphers of ['ECDHE+AESGCM:!ECDHE-PSK-CHACHA20-POLY1305', 'ECDHE+AESGCM:!DHE-PSK-AES128-GCM-SHA256:!ADH-AES256-SHA']) {
      assert.equal(accept({ ciphers }).ciphers, `${ciphers}:!aNULL:!eNULL:!EXPORT:!LOW:!RC4:!DES:!3DES:!MD5:!PSK:!SRP`)
    }
  })
  it('still refuses such a suite when it is asked for', () => {
    expectAzureErrorSync(() => acceptSsl({ ciphers: 'ECDHE+AESGCM:ECDHE-PSK-CHACHA20-POLY1305' }, HOST, 'option "ssl"'), 'INSECURE_TLS')
  })
})

describe('sslrootcert', () => {
  const none: TlsInput = {
    host: HOST, sslmode: undefined, ssl: undefined, sslrootcert: undefined, trustServerCertificate: undefined,
    sslfactory: undefined, clientCertificate: undefined, sslnegotiation: undefined,
  }
  it('system: Node\'s roots, naming where it was set; anything else: a file', () => {
    assert.deepEqual(decideTls({ ...none, sslrootcert: { value: 'system', origin: 'environment variable PGSSLROOTCERT', source: 'env' } }).trust,
      { kind: 'system', origin: 'environment variable PGSSLROOTCERT' })
    assert.deepEqual(decideTls({ ...none, sslrootcert: { value: '/etc/ssl/roots.pem', origin: 'option "sslrootcert"', source: 'option' } }).trust,
      { kind: 'file', path: '/etc/ssl/roots.pem', origin: 'option "sslrootcert"' })
  })
})
