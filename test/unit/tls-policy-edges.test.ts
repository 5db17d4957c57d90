// Edges of the TLS policy that mutation testing showed unguarded (docs/testing.md, "Mutation testing"): safe
// values next to refused ones, so a check that refuses too much fails as surely as one that refuses too
// little. The pure stages are called directly; the last test goes through the public API.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isTruthy } from '../../src/config/setting.js'
import { decideTls, type TlsInput } from '../../src/config/tls-policy.js'
import { resolveAzurePgConfig } from '../../src/index.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const none: TlsInput = {
  host: HOST, sslmode: undefined, ssl: undefined, sslrootcert: undefined, trustServerCertificate: undefined,
  sslfactory: undefined, clientCertificate: undefined, sslnegotiation: undefined,
}
const env = (name: string, value: string) => ({ value, origin: `environment variable ${name}`, source: 'env' as const })

describe('TLS policy edges', () => {
  it('reads sslnegotiation in any case, postgres as surely as direct', () => {
    for (const [given, expected] of [['postgres', 'postgres'], ['Postgres', 'postgres'], ['DIRECT', 'direct'], ['Auto', 'auto']] as const) {
      assert.equal(decideTls({ ...none, sslnegotiation: env('PGSSLNEGOTIATION', given) }).sslnegotiation, expected, given)
    }
  })

  it('reads "true" with surrounding spaces as true, and "no" as false', () => {
    assert.equal(isTruthy(' Yes '), true)
    assert.equal(isTruthy(' no '), false)
  })

  it('names the refused sslmode and where it came from', () => {
    const err = expectAzureErrorSync(() => decideTls({ ...none, sslmode: env('PGSSLMODE', 'Prefer') }), 'INSECURE_TLS')
    assert.match(err.message, /^sslmode "prefer" \(from environment variable PGSSLMODE\)/)
  })

  it('connects to the host name as configured when ssl.servername is the same name in other letters', async () => {
    const c = await resolveAzurePgConfig({ certs: { source: 'bundled' }, host: HOST, user: 'u', env: {}, ssl: { servername: HOST.toUpperCase() } })
    assert.equal(c.ssl.servername, HOST)
  })
})
