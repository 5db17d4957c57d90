import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { explainConnectError, type ConnectContext } from '../../src/error-map.js'
import { AzurePgError } from '../../src/index.js'

const ctx: ConnectContext = {
  host: 'mydemoserver.postgres.database.azure.com', connectHost: 'mydemoserver.postgres.database.azure.com', port: 5432,
  user: 'myadmin', serverType: 'auto', trust: 'Azure roots',
}

/** A server error as pg builds it from the wire: its own DatabaseError class with an SQLSTATE. */
function serverError(message: string, code: string): Error {
  const e = new pg.DatabaseError(message, message.length, 'error')
  e.code = code
  return e
}

function sysError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code })
}

describe('explainConnectError', () => {
  // Exact texts from docs/azure-facts.md "Error texts users meet".
  const cases: Array<[string, Error, string, RegExp]> = [
    ['Single Server gateway, missing @server',
      serverError('Invalid Username specified. Please check the Username and retry connection. The Username should be in <username@hostname> format.', '28000'),
      'AUTH_FAILED', /serverType: 'single'/],
    ['Single Server, no TLS', serverError('SSL connection is required. Please specify SSL options and retry.', '28000'), 'SERVER_REQUIRES_TLS', /directly/],
    ['Flexible Server, no TLS', serverError('no pg_hba.conf entry for host "1.2.3.4", user "myadmin", database "postgres", no encryption', '28000'), 'SERVER_REQUIRES_TLS', /TLS/],
    ['older server, SSL off', serverError('no pg_hba.conf entry for host "1.2.3.4", user "myadmin", database "postgres", SSL off', '28000'), 'SERVER_REQUIRES_TLS', /TLS/],
    ['firewall / pg_hba with TLS', serverError('no pg_hba.conf entry for host "1.2.3.4", user "myadmin", database "postgres", SSL encryption', '28000'), 'ACCESS_DENIED', /firewall/],
    ['wrong password', serverError('password authentication failed for user "myadmin"', '28P01'), 'AUTH_FAILED', /serverType: 'single'/],
    ['no database', serverError('database "nope" does not exist', '3D000'), 'DATABASE_NOT_FOUND', /postgres/],
    ['TLS refused', new Error('The server does not support SSL connections'), 'SERVER_REFUSED_TLS', /port/],
    ['garbage answer', new Error('There was an error establishing an SSL connection'), 'CONNECTION_FAILED', /PostgreSQL/],
    ['DNS', sysError('getaddrinfo ENOTFOUND x', 'ENOTFOUND'), 'CONNECTION_FAILED', /host name/],
    ['self-signed in chain', sysError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), 'TLS_VERIFY_FAILED', /sslrootcert/],
    ['unknown issuer', sysError('unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'TLS_VERIFY_FAILED', /sslrootcert/],
    ['altnames', sysError("Hostname/IP does not match certificate's altnames", 'ERR_TLS_CERT_ALTNAME_INVALID'), 'TLS_VERIFY_FAILED', /hostaddr/],
  ]
  for (const [name, err, code, hint] of cases) {
    it(name, () => {
      const mapped = explainConnectError(err, ctx)
      assert.ok(mapped instanceof AzurePgError)
      assert.equal(mapped.code, code)
      assert.match(mapped.hint, hint)
      assert.equal(mapped.cause, err)
      assert.ok(!mapped.message.includes('\n'), 'one line')
    })
  }

  it('names the verification failure reason', () => {
    assert.equal(explainConnectError(sysError('x', 'CERT_HAS_EXPIRED'), ctx).reason, 'expired')
    assert.equal(explainConnectError(sysError('x', 'ERR_TLS_CERT_ALTNAME_INVALID'), ctx).reason, 'hostname')
    assert.equal(explainConnectError(sysError('x', 'DEPTH_ZERO_SELF_SIGNED_CERT'), ctx).reason, 'unknown-ca')
  })

  it('keeps unknown errors, redacting a known password', () => {
    const mapped = explainConnectError(new Error('weird failure mentioning hunter2'), ctx, ['hunter2'])
    assert.equal(mapped.code, 'CONNECTION_FAILED')
    assert.doesNotMatch(mapped.message, /hunter2/)
  })
})
