// Property-based attack on option objects and `ssl` objects: random mixes of accepted and refused keys,
// hostile values, getters, and environments. Whatever happens, a failure is an AzurePgError; an accepted
// configuration verifies fully (trust, name, rejectUnauthorized, TLS >= 1.2); no password shows anywhere.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createSecureContext, rootCertificates } from 'node:tls'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { resolveSettings } from '../../src/config/resolve.js'
import { prepare } from '../../src/connect/prepare.js'
import { AzurePgError } from '../../src/errors.js'
import type { AzurePgOptions } from '../../src/options.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const PEM = rootCertificates[0] ?? ''
const PARAMS = { seed: 20261129, numRuns: 1500 }

const anyValue = fc.oneof(
  fc.constant(undefined), fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 12 }),
  fc.constant(''), fc.constant([]), fc.constant(PEM), fc.constant([PEM]), fc.constant(() => undefined),
  fc.constantFrom('TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'SSLv3', 'HIGH', 'NULL-SHA', 'HIGH:@SECLEVEL=0', 'aNULL', 'P-256', 'X25519', 'secp192r1', HOST),
)
const sslKey = fc.constantFrom('ca', 'rejectUnauthorized', 'servername', 'minVersion', 'maxVersion', 'ciphers', 'ecdhCurve',
  'checkServerIdentity', 'pskCallback', 'secureContext', 'host', 'session', 'secureProtocol', 'key', 'cert', 'pfx', 'requestOCSP', 'ALPNProtocols')
const sslObject = fc.dictionary(sslKey, anyValue, { maxKeys: 5 })
const ssl = fc.oneof(fc.constant(undefined), fc.boolean(), fc.constant(null), sslObject, sslObject.map((o) => ({ ...o, secureContext: createSecureContext({}) })))
const password = fc.string({ unit: fc.constantFrom('X', 'Q', 'Z', 'K', '7', '/', '?', '#', ';', '=', '@', ' ', "'", '"'), minLength: 6, maxLength: 14 })
const mode = fc.option(fc.constantFrom('require', 'verify-full', 'verify-ca', 'disable', 'prefer', 'allow', 'no-verify', 'strict', 'VerifyFull'), { nil: undefined })

const options = fc.record({
  ssl, sslmode: mode, envMode: mode, password, port: fc.oneof(fc.constant(undefined), fc.constant(5432), fc.constant('6432'), fc.constant(-1), fc.constant('x')),
  hostaddr: fc.option(fc.constantFrom('127.0.0.1', '::1', 'not-an-ip'), { nil: undefined }),
  sslnegotiation: fc.option(fc.constantFrom('postgres', 'direct', 'sideways'), { nil: undefined }),
})

function allText(err: unknown, warnings: readonly string[]): string {
  return [inspect(err, { depth: 10 }), err instanceof AzurePgError ? err.hint : '', JSON.stringify(err), ...warnings].join('\n')
}

describe('option and ssl objects (property-based)', () => {
  it('fail only with AzurePgError, accept only fully verifying configurations, and never show the password', async () => {
    let accepted = 0
    await fc.assert(fc.asyncProperty(options, async (o) => {
      const warnings: string[] = []
      const given = {
        host: HOST, user: 'myadmin', password: o.password, ssl: o.ssl, sslmode: o.sslmode, port: o.port, hostaddr: o.hostaddr,
        sslnegotiation: o.sslnegotiation, certs: { source: 'bundled' }, logger: { warn: (m: string) => warnings.push(m) },
      } as unknown as AzurePgOptions
      let config
      try {
        config = (await prepare(resolveSettings(given, o.envMode === undefined ? {} : { PGSSLMODE: o.envMode }))).config
      } catch (err) {
        assert.ok(err instanceof AzurePgError, `not an AzurePgError: ${String(err)}`)
        assert.ok(!allText(err, warnings).includes(o.password), 'the password shows in an error')
        return
      }
      accepted++
      assert.ok(!warnings.join('\n').includes(o.password), 'the password shows in a warning')
      const s = config.ssl
      assert.equal(s.rejectUnauthorized, true)
      assert.ok(s.minVersion === 'TLSv1.2' || s.minVersion === 'TLSv1.3')
      assert.ok(s.maxVersion === undefined || s.maxVersion === 'TLSv1.2' || s.maxVersion === 'TLSv1.3')
      assert.ok(Array.isArray(s.ca) ? s.ca.length > 0 : typeof s.ca === 'string' && s.ca.length > 0, 'a non-empty trust set')
      assert.equal(s.servername, HOST)
      for (const key of ['checkServerIdentity', 'pskCallback', 'secureContext', 'host', 'session', 'secureProtocol', 'key', 'cert', 'pfx']) {
        assert.equal((s as unknown as Record<string, unknown>)[key], undefined, key)
      }
      assert.ok(s.ciphers === undefined || /!aNULL/.test(s.ciphers))
    }), PARAMS)
    // The checks of an accepted configuration ran on some inputs, not none.
    assert.ok(accepted > 0, 'no generated configuration was accepted')
  })
})
