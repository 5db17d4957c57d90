import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { inspect } from 'node:util'
import { adviceFor, classifyConnectError, explainConnectError, explainQueryError, type AdviceId, type ConnectContext } from '../../src/explain.js'
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
    // PostgreSQL's answers when a SCRAM-SHA-256-PLUS login was bound to another certificate (an interceptor), or downgraded.
    ['channel binding check failed', serverError('SCRAM channel binding check failed', '28000'), 'AUTH_FAILED', /intercepts TLS/],
    ['channel binding negotiation error', serverError('SCRAM channel binding negotiation error', '08P01'), 'AUTH_FAILED', /intercepts TLS/],
    ['no database', serverError('database "nope" does not exist', '3D000'), 'DATABASE_NOT_FOUND', /postgres/],
    ['TLS refused', new Error('The server does not support SSL connections'), 'SERVER_REFUSED_TLS', /port/],
    ['garbage answer', new Error('There was an error establishing an SSL connection'), 'CONNECTION_FAILED', /PostgreSQL/],
    ['an error message in answer to the TLS request', new Error('server sent an error response during SSL exchange'), 'CONNECTION_FAILED', /Retry in a moment/],
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
    assert.equal(explainConnectError(sysError('x', 'ECONNREFUSED'), ctx).reason, 'refused')
    assert.equal(explainConnectError(sysError('x', 'ENOTFOUND'), ctx).reason, 'dns')
    assert.equal(explainConnectError(new Error('timeout expired'), ctx).reason, 'timeout')
    assert.equal(explainConnectError(new Error('timeout exceeded when trying to connect'), ctx).reason, 'timeout')
    assert.equal(explainConnectError(new Error('Connection terminated unexpectedly'), ctx).reason, 'closed')
  })

  it('keeps unknown errors, redacting a known password', () => {
    const mapped = explainConnectError(new Error('weird failure mentioning hunter2'), ctx, ['hunter2'])
    assert.equal(mapped.code, 'CONNECTION_FAILED')
    assert.doesNotMatch(mapped.message, /hunter2/)
  })

  it('withholds a foreign text that holds a secret whole, instead of editing the secret out', () => {
    const host = 'postgres.postgres.database.azure.com'
    const mapped = explainConnectError(new Error('server said: password postgres is wrong'), { ...ctx, host, connectHost: host }, ['postgres'])
    assert.match(mapped.message, new RegExp(`Connecting to ${host.replace(/\./g, '\\.')}:5432 failed`), 'the SDK\'s own text is kept as it is')
    assert.match(mapped.message, /withheld/)
    assert.doesNotMatch(mapped.message, /is wrong/)
  })

  it('keeps no secret anywhere along the cause chain, util.inspect and JSON included', () => {
    const secret = 'Sup3r-secret-pw'
    const inner = Object.assign(new Error(`resolver failed for ${secret}`), { code: 'ENOTFOUND', detail: secret })
    const outer = new Error('password function failed', { cause: inner })
    const mapped = explainConnectError(outer, ctx, [secret])
    for (const view of [inspect(mapped, { depth: 10 }), JSON.stringify(mapped), String(mapped), mapped.stack ?? '']) {
      assert.doesNotMatch(view, /Sup3r-secret-pw/)
    }
    assert.ok(mapped.cause instanceof Error, 'a stand-in cause remains')
    // An error without the secret keeps its original cause.
    const clean = new Error('connect ECONNREFUSED', { cause: inner })
    assert.equal(explainConnectError(clean, ctx, ['other-secret']).cause, clean)
  })

  it('gives the same hint by id as for the error it explains', () => {
    // Expected code, hint and reason written here, not read from the table both sides share.
    // adviceReason is undefined where the reason depends on the raw error (the network row).
    const pairs: Array<[AdviceId, Error, string, RegExp, string | undefined, string | undefined]> = [
      ['server-refused-tls', new Error('The server does not support SSL connections'), 'SERVER_REFUSED_TLS', /port/, undefined, undefined],
      ['tls-hostname', sysError('x', 'ERR_TLS_CERT_ALTNAME_INVALID'), 'TLS_VERIFY_FAILED', /hostaddr/, 'hostname', 'hostname'],
      ['tls-expired', sysError('x', 'CERT_HAS_EXPIRED'), 'TLS_VERIFY_FAILED', /clock/, 'expired', 'expired'],
      ['network', sysError('x', 'ECONNREFUSED'), 'CONNECTION_FAILED', /host name/, undefined, 'refused'],
      ['auth-failed', serverError('password authentication failed for user "myadmin"', '28P01'), 'AUTH_FAILED', /serverType: 'single'/, undefined, undefined],
    ]
    for (const [id, err, code, hint, adviceReason, errorReason] of pairs) {
      assert.equal(classifyConnectError(err), id)
      const advice = adviceFor(id, ctx)
      const mapped = explainConnectError(err, ctx)
      assert.equal(advice.code, code, id)
      assert.equal(mapped.code, code, id)
      assert.match(advice.hint, hint, id)
      assert.match(mapped.hint, hint, id)
      assert.equal(advice.reason, adviceReason, id)
      assert.equal(mapped.reason, errorReason, id)
    }
  })
})

describe('phases', () => {
  it('a connect failure names its phase, in the field and in words', () => {
    const e = explainConnectError(sysError('read ECONNRESET', 'ECONNRESET'), ctx, [], 'tls-handshake')
    assert.equal(e.phase, 'tls-handshake')
    assert.equal(e.reason, 'reset')
    assert.match(e.message, /\(ECONNRESET\)\. It failed during the TLS handshake\.$/)
    assert.equal(explainConnectError(e, ctx, [], 'query'), e, 'an error that has its phase keeps it')
    assert.equal(explainConnectError(sysError('x', 'ECONNREFUSED'), ctx).phase, undefined, 'no phase given, none made up')
  })

  it("pg-pool's connect-timeout wrapper takes the phase of the error it wraps", () => {
    const inner = explainConnectError(new Error('Connection terminated unexpectedly'), ctx, [], 'startup')
    const e = explainConnectError(new Error('Connection terminated due to connection timeout', { cause: inner }), ctx)
    assert.deepEqual([e.code, e.reason, e.phase], ['CONNECTION_FAILED', 'timeout', 'startup'])
  })

  it('a FIN in the middle of the TLS handshake is a close, not a reset', () => {
    const e = explainConnectError(sysError('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET'), ctx, [], 'tls-handshake')
    assert.equal(e.reason, 'closed')
  })

  it('a server restarting: 57P03 at connect is refused, 57P01 closed', () => {
    assert.deepEqual([explainConnectError(serverError('the database system is starting up', '57P03'), ctx).reason], ['refused'])
    assert.deepEqual([explainConnectError(serverError('terminating connection due to administrator command', '57P01'), ctx).reason], ['closed'])
  })
})

describe('explainQueryError', () => {
  it('connection failures during a query are CONNECTION_FAILED of phase query', () => {
    const cases: Array<[Error, string, RegExp]> = [
      [new Error('Query read timeout'), 'timeout', /within query_timeout; the connection is closed/],
      [new Error('Connection terminated unexpectedly'), 'closed', /closed by the other end/],
      [sysError('read ECONNRESET', 'ECONNRESET'), 'reset', /was lost \(ECONNRESET\)/],
      [serverError('terminating connection due to administrator command', '57P01'), 'closed', /ended the connection: terminating/],
      [new Error('Client has encountered a connection error and is not queryable'), 'closed', /closed already/],
    ]
    for (const [err, reason, words] of cases) {
      const e = explainQueryError(err, ctx)
      assert.ok(e !== undefined, err.message)
      assert.deepEqual([e.code, e.reason, e.phase], ['CONNECTION_FAILED', reason, 'query'], err.message)
      assert.match(e.message, words)
      assert.match(e.message, /It failed after login, during or between queries\.$/)
      assert.equal(e.cause, err)
    }
  })

  it('SQL errors are not explained: they stay the caller\'s pg errors', () => {
    assert.equal(explainQueryError(serverError('syntax error at or near "SELEKT"', '42601'), ctx), undefined)
    assert.equal(explainQueryError(serverError('duplicate key value violates unique constraint "t_pkey"', '23505'), ctx), undefined)
  })

  it('a secret in the text is withheld from message and cause', () => {
    const e = explainQueryError(new Error('Client was closed and is not queryable: s3cret-pw'), ctx, ['s3cret-pw'])
    assert.ok(e !== undefined)
    assert.doesNotMatch(inspect(e, { depth: 8 }), /s3cret-pw/)
  })
})

describe('a foreign text followed by a sentence of the SDK ends with a full stop', () => {
  // Written out in full: the exact messages users read, with the server's (or Node's) text in the middle.
  const at = 'mydemoserver.postgres.database.azure.com:5432'
  const cases: Array<[string, () => string, string]> = [
    ['a server text with no full stop, then the phase',
      () => explainConnectError(serverError('password authentication failed for user "myadmin"', '28P01'), ctx, [], 'authentication').message,
      `The server at ${at} rejected the login of "myadmin": password authentication failed for user "myadmin". It failed during authentication.`],
    ['the same with no phase: the message still ends with a full stop',
      () => explainConnectError(serverError('password authentication failed for user "myadmin"', '28P01'), ctx).message,
      `The server at ${at} rejected the login of "myadmin": password authentication failed for user "myadmin".`],
    ['a server text that ends with a full stop gets no second one',
      () => explainConnectError(serverError('SSL connection is required. Please specify SSL options and retry.', '28000'), ctx, [], 'authentication').message,
      `The server at ${at} requires TLS and reports that this connection did not use it: SSL connection is required. Please specify SSL options and retry. It failed during authentication.`],
    ['a text that ends with "!" keeps it as its end',
      () => explainConnectError(new Error('boom!'), ctx, [], 'startup').message,
      `Connecting to ${at} failed: boom! It failed after the startup message, before the server asked for credentials.`],
    ['a text that ends with "?" keeps it as its end',
      () => explainConnectError(new Error('who goes there?'), ctx, [], 'tls-request').message,
      `Connecting to ${at} failed: who goes there? It failed while waiting for the answer to the TLS request.`],
    ['trailing white space is not left before the full stop',
      () => explainConnectError(serverError('database "nope" does not exist \n', '3D000'), ctx, [], 'authentication').message,
      `The server at ${at} has no such database: database "nope" does not exist. It failed during authentication.`],
    ['Node\'s host name text, then the phase',
      () => explainConnectError(sysError("Hostname/IP does not match certificate's altnames: Host: x. is not in the cert's altnames: DNS:y", 'ERR_TLS_CERT_ALTNAME_INVALID'), ctx, [], 'tls-handshake').message,
      `The server certificate at ${at} is not valid for the host name "mydemoserver.postgres.database.azure.com": Hostname/IP does not match certificate's altnames: Host: x. is not in the cert's altnames: DNS:y. It failed during the TLS handshake.`],
    ['a withheld text is a sentence too',
      () => explainConnectError(new Error('bad pw hunter2'), ctx, ['hunter2'], 'authentication').message,
      `Connecting to ${at} failed: (the error text is withheld: it contained a secret). It failed during authentication.`],
    ['a server text during a query, then the phase',
      () => explainQueryError(serverError('terminating connection due to administrator command', '57P01'), ctx)?.message ?? '',
      `The server at ${at} ended the connection: terminating connection due to administrator command. It failed after login, during or between queries.`],
    ['pg\'s text for a closed client, then the phase',
      () => explainQueryError(new Error('Client was closed and is not queryable'), ctx)?.message ?? '',
      `The connection to ${at} is closed already: Client was closed and is not queryable. It failed after login, during or between queries.`],
  ]
  for (const [name, message, expected] of cases) {
    it(name, () => assert.equal(message(), expected))
  }
})
