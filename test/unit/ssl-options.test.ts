// The allow-list of ssl settings, attacked key by key. Pure: called directly, nothing read from disk.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSecureContext, rootCertificates } from 'node:tls'
import { inspect } from 'node:util'
import { resolveSettings } from '../../src/config/resolve.js'
import { acceptSsl, readSslOption } from '../../src/config/ssl-options.js'
import type { AzurePgOptions } from '../../src/options.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const PEM = rootCertificates[0] ?? ''
const resolveWith = (ssl: unknown, extra: AzurePgOptions = {}) => resolveSettings({ host: HOST, user: 'u', ssl: ssl as AzurePgOptions['ssl'], ...extra }, {})

describe('ssl allow-list', () => {
  it('refuses as INSECURE_TLS every key that can skip or replace a check, naming the key', () => {
    const cases: Array<[string, unknown]> = [
      ['pskCallback', () => ({ psk: Buffer.alloc(32), identity: 'x' })],
      ['secureContext', createSecureContext({})],
      ['host', 'evil.example'],
      ['checkServerIdentity', () => undefined],
      ['secureProtocol', 'TLS_method'],
      ['session', Buffer.alloc(10)],
    ]
    for (const [key, value] of cases) {
      const err = expectAzureErrorSync(() => resolveWith({ [key]: value }), 'INSECURE_TLS')
      assert.match(err.message, new RegExp(`ssl\\.${key}`), key)
    }
  })

  it('refuses rejectUnauthorized other than true, and versions below TLS 1.2', () => {
    expectAzureErrorSync(() => resolveWith({ rejectUnauthorized: false }), 'INSECURE_TLS')
    expectAzureErrorSync(() => resolveWith({ rejectUnauthorized: 0 }), 'INVALID_CONFIG')
    for (const v of ['TLSv1', 'TLSv1.1', 'SSLv3']) {
      expectAzureErrorSync(() => resolveWith({ minVersion: v }), 'INSECURE_TLS')
      expectAzureErrorSync(() => resolveWith({ maxVersion: v }), 'INSECURE_TLS')
    }
    expectAzureErrorSync(() => resolveWith({ minVersion: 'TLSv9' }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => resolveWith({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' }), 'INVALID_CONFIG')
  })

  it('refuses a ca that would let Node fall back to its own store: empty, null, [], or not certificates', () => {
    for (const ca of ['', null, [], ['', PEM], 'not a certificate', Buffer.alloc(0), [Buffer.from('junk')], 42]) {
      const err = expectAzureErrorSync(() => resolveWith({ ca }), 'INVALID_CONFIG')
      assert.match(err.message, /ssl\.ca/)
    }
    assert.deepEqual(resolveWith({ ca: [PEM, PEM] }).tls.trust, { kind: 'inline', ca: [PEM, PEM] })
  })

  it('refuses cipher lists with suites lacking encryption, authentication or strength, and a lowered security level', () => {
    for (const ciphers of ['NULL-SHA256', 'eNULL', 'aNULL', 'ECDHE-RSA-NULL-SHA', 'ADH-AES256-SHA', 'EXP-RC4-MD5', 'EXPORT', 'RC4-SHA',
      'DES-CBC3-SHA', 'ALL', 'HIGH:@SECLEVEL=0', 'DEFAULT@SECLEVEL=0', 'HIGH@SECLEVEL=1:!aNULL', 'NULL@SECLEVEL=2', 'DEFAULT@SECLEVEL=1'.replace('@', ':@'), 'PSK-AES128-CBC-SHA', 'COMPLEMENTOFALL', 'LOW']) {
      expectAzureErrorSync(() => resolveWith({ ciphers }), 'INSECURE_TLS')
    }
    for (const ciphers of ['HIGH:!aNULL:!eNULL', 'ECDHE+AESGCM', 'ECDHE-RSA-AES128-GCM-SHA256', 'DEFAULT:@SECLEVEL=2']) {
      const kept = resolveWith({ ciphers }).tls.extraSsl.ciphers
      assert.ok(kept?.startsWith(ciphers) && kept.includes('!aNULL') && kept.includes('!eNULL'), `${ciphers} → ${String(kept)}`)
    }
  })

  it('accepts only known groups of 128-bit strength or more', () => {
    assert.equal(resolveWith({ ecdhCurve: 'P-256:X25519' }).tls.extraSsl.ecdhCurve, 'P-256:X25519')
    for (const ecdhCurve of ['secp192r1', 'prime192v1', 'P-256:sect163k1', '', 'X25519:']) {
      expectAzureErrorSync(() => resolveWith({ ecdhCurve }), 'INVALID_CONFIG')
    }
  })

  it('refuses client certificates and every key not on the list, naming identifier keys only', () => {
    for (const key of ['key', 'cert', 'pfx', 'passphrase']) assert.match(expectAzureErrorSync(() => resolveWith({ [key]: 'x' }), 'INVALID_CONFIG').message, new RegExp(`ssl\\.${key}`))
    assert.match(expectAzureErrorSync(() => resolveWith({ requestOCSP: true }), 'INVALID_CONFIG').message, /ssl\.requestOCSP/)
    const weird = expectAzureErrorSync(() => resolveWith({ 'p@ss w0rd!': 1 }), 'INVALID_CONFIG')
    assert.doesNotMatch(weird.message, /p@ss/)
  })

  it('refuses ssl: null and other non-objects as INVALID_CONFIG, ssl: false as INSECURE_TLS', () => {
    for (const ssl of [null, 'true', 1, []]) expectAzureErrorSync(() => resolveWith(ssl), 'INVALID_CONFIG')
    expectAzureErrorSync(() => resolveWith(false), 'INSECURE_TLS')
  })

  it('reads each ssl key exactly once: a getter cannot answer the check one way and the connection another', () => {
    let reads = 0
    const sly = { get minVersion() { reads++; return reads === 1 ? 'TLSv1.3' : 'TLSv1' } }
    const s = resolveWith(sly)
    assert.equal(reads, 1)
    assert.equal(s.tls.extraSsl.minVersion, 'TLSv1.3')
    let optionReads = 0
    const options = { host: HOST, user: 'u', get ssl() { optionReads++; return optionReads === 1 ? { ca: PEM } : { rejectUnauthorized: false } } }
    assert.deepEqual(resolveSettings(options, {}).tls.trust, { kind: 'inline', ca: PEM })
    assert.equal(optionReads, 1)
  })

  it('copies arrays, so changing the caller\'s ca afterwards changes nothing decided', () => {
    const ca = [PEM]
    const copy = readSslOption({ ca }) as { ca: string[] }
    ca.push('junk')
    assert.deepEqual(copy.ca, [PEM])
    assert.deepEqual(acceptSsl(copy, HOST, 'test').ca, [PEM])
  })

  it('names keys, never values, in its messages', () => {
    const secret = 'S3cret-value-in-ssl'
    for (const ssl of [{ ciphers: `${secret}:NULL` }, { servername: secret }, { minVersion: secret }, { ecdhCurve: secret }, { ca: secret }]) {
      const err = expectAzureErrorSync(() => resolveWith(ssl))
      assert.doesNotMatch(inspect(err) + err.hint, /S3cret/)
    }
  })
})

describe('option types', () => {
  it('refuses null or a number where a string belongs, naming the option', () => {
    const cases: Array<[AzurePgOptions, RegExp]> = [
      [{ connectionString: null as unknown as string }, /connectionString/],
      [{ host: HOST, user: 'u', sslmode: 5 as unknown as string }, /sslmode/],
      [{ host: HOST, user: 'u', serverName: 5 as unknown as string }, /serverName/],
      [{ host: 5 as unknown as string, user: 'u' }, /host/],
      [{ host: HOST, user: 'u', port: 'x'.repeat(3) as unknown as number }, /port/],
      [{ host: HOST, user: 'u', port: 5.5 }, /port/],
      [{ host: HOST, user: 'u', connectionTimeoutMillis: -1 }, /connectionTimeoutMillis/],
      [{ host: HOST, user: 'u', password: 42 as unknown as string }, /password/],
      [{ host: HOST, user: 'u', certs: { cacheDir: 7 as unknown as string } }, /certs\.cacheDir/],
      [{ host: HOST, user: 'u', certs: { offline: 'yes' as unknown as boolean } }, /certs\.offline/],
    ]
    for (const [options, name] of cases) assert.match(expectAzureErrorSync(() => resolveSettings(options, {}), 'INVALID_CONFIG').message, name)
  })

  it('sets a 30 s connect limit unless one is given; 0 means none', () => {
    assert.equal(resolveSettings({ host: HOST, user: 'u' }, {}).pgExtras['connectionTimeoutMillis'], 30_000)
    assert.equal(resolveSettings({ host: HOST, user: 'u', connectionTimeoutMillis: 0 }, {}).pgExtras['connectionTimeoutMillis'], 0)
    assert.equal(resolveSettings({ host: HOST, user: 'u' }, { PGCONNECT_TIMEOUT: '7' }).pgExtras['connectionTimeoutMillis'], 7000)
  })
})
