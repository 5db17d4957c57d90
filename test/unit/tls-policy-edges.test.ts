// Edges of the TLS policy that mutation testing showed unguarded (README, "Mutation testing"): safe
// values next to refused ones, so a check that refuses too much fails as surely as one that refuses too little.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertVerifyingSsl, isTruthy } from '../../src/config/tls-policy.js'
import { resolveAzurePgConfig } from '../../src/index.js'
import { expectAzureError } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const base = { certs: { source: 'bundled' as const }, host: HOST, user: 'u', env: {} }

describe('TLS policy edges', () => {
  it('refuses TLS 1.0/1.1 and SSL protocol methods, and accepts the generic ones', async () => {
    for (const secureProtocol of ['SSLv3_method', 'SSLv2_method', 'TLSv1_method', 'TLSv1_1_method', 'TLSv1_client_method', 'TLSv1_1_server_method']) {
      await expectAzureError(() => assertVerifyingSsl({ secureProtocol }, 'test'), 'INSECURE_TLS')
    }
    for (const secureProtocol of ['TLS_method', 'TLS_client_method', 'TLSv1_2_method']) {
      assert.doesNotThrow(() => assertVerifyingSsl({ secureProtocol }, 'test'), secureProtocol)
    }
  })

  it('accepts a servername equal to the host in any case, and sslnegotiation=postgres in any case', async () => {
    const c = await resolveAzurePgConfig({ ...base, ssl: { servername: HOST.toUpperCase() } })
    assert.equal(c.ssl.servername, HOST)
    for (const sslnegotiation of ['postgres', 'Postgres', 'DIRECT']) {
      const r = await resolveAzurePgConfig({ ...base, sslnegotiation: sslnegotiation as 'postgres' })
      assert.equal((r as { sslnegotiation?: string }).sslnegotiation, sslnegotiation.toLowerCase())
    }
  })

  it('reads "true" with surrounding spaces as true', () => {
    assert.equal(isTruthy(' Yes '), true)
    assert.equal(isTruthy(' no '), false)
  })

  it('names the refused sslmode as written and where it came from', async () => {
    const err = await expectAzureError(() => resolveAzurePgConfig({ ...base, env: { PGSSLMODE: 'Prefer' } }), 'INSECURE_TLS')
    assert.match(err.message, /^sslmode "Prefer" \(from environment variable PGSSLMODE\)/)
  })
})
