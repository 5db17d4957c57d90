// explainPgConnectError: the error table for connections another library made from the SDK's
// configuration. The errors are built as pg and Node build them; the configurations as users pass them.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import pg from 'pg'
import { AzurePgError, explainPgConnectError, resolveAzurePgConfig, type AzurePgOptions } from '../../src/index.js'
import { errorText } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const PASSWORD = 'Sup3r-secret-pw'

function serverError(message: string, code: string): Error {
  const e = new pg.DatabaseError(message, message.length, 'error')
  e.code = code
  return e
}

const wrongPassword = (): Error => serverError('password authentication failed for user "myadmin"', '28P01')
const unknownCa = (): Error => Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })

/** Options as a user writes them; `env: {}` keeps the machine's PG* variables out. */
const options = (extra: AzurePgOptions = {}): AzurePgOptions =>
  ({ host: HOST, hostaddr: '10.1.2.3', port: 6432, user: 'myadmin', password: PASSWORD, env: {}, learn: 'off', certs: { source: 'bundled' }, ...extra })

describe('explainPgConnectError', () => {
  it('names the server and user of the resolved configuration (host is the name, hostaddr where the socket goes)', async () => {
    const config = await resolveAzurePgConfig(options())
    assert.deepEqual([config.host, config.hostaddr], [HOST, '10.1.2.3'], 'precondition: the resolved configuration names both')
    const e = explainPgConnectError(wrongPassword(), config)
    assert.ok(e instanceof AzurePgError)
    assert.deepEqual([e.code, e.reason, e.phase], ['AUTH_FAILED', undefined, undefined])
    assert.equal(e.message, `The server at ${HOST} (10.1.2.3):6432 rejected the login of "myadmin": password authentication failed for user "myadmin".`)
    assert.equal(e.hint, "Check the user name and password; on Single Server also pass serverType: 'single' (user@server).")
  })

  it('reads the options given to resolveAzurePgConfig the way the SDK resolves them (Single Server naming)', () => {
    const e = explainPgConnectError(wrongPassword(), options({ serverType: 'single' }))
    assert.match(e.message, /^The server at mydemoserver\.postgres\.database\.azure\.com \(10\.1\.2\.3\):6432 rejected the login of "myadmin@mydemoserver": /)
    assert.equal(e.hint, 'Check the user name and password.')
  })

  it('gives the same code, reason and hint for a resolved configuration and for its options', async () => {
    for (const raw of [wrongPassword, unknownCa]) {
      const fromConfig = explainPgConnectError(raw(), await resolveAzurePgConfig(options()))
      const fromOptions = explainPgConnectError(raw(), options())
      assert.deepEqual([fromConfig.code, fromConfig.reason, fromConfig.message, fromConfig.hint], [fromOptions.code, fromOptions.reason, fromOptions.message, fromOptions.hint])
    }
    const e = explainPgConnectError(unknownCa(), options())
    assert.deepEqual([e.code, e.reason], ['TLS_VERIFY_FAILED', 'unknown-ca'])
    assert.equal(e.message, `The server certificate at ${HOST} (10.1.2.3):6432 does not chain to a trusted root (trusted: the configured roots; SELF_SIGNED_CERT_IN_CHAIN).`)
  })

  it('reads a connection string, and withholds a text that holds its password', () => {
    const url = `postgresql://myadmin:${PASSWORD}@${HOST}:5432/postgres?sslmode=verify-full`
    const raw = serverError(`password authentication failed: ${PASSWORD}`, '28P01')
    for (const config of [url, { connectionString: url, env: {} }]) {
      const e = explainPgConnectError(raw, config)
      assert.equal(e.message, `The server at ${HOST}:5432 rejected the login of "myadmin": (the error text is withheld: it contained a secret).`)
      assert.doesNotMatch(errorText(e), new RegExp(PASSWORD))
      assert.notEqual(e.cause, raw, 'a cause that holds the password is replaced too')
    }
  })

  it('withholds the password of a resolved configuration, where it is not enumerable', async () => {
    const config = await resolveAzurePgConfig(options())
    assert.ok(!Object.keys(config).includes('password'), 'precondition: hidden as pg-pool hides it')
    const raw = Object.assign(new Error(`connect failed for ${PASSWORD}`), { code: 'ECONNRESET' })
    const e = explainPgConnectError(raw, config)
    assert.equal(e.code, 'CONNECTION_FAILED')
    assert.doesNotMatch(errorText(e), new RegExp(PASSWORD))
  })

  it('withholds a text that quotes a connection string it cannot parse (the password may be anywhere in it)', () => {
    const broken = `host=${HOST} password='unterminated ${PASSWORD}`
    const e = explainPgConnectError(new Error(`bad string: ${broken}`), { connectionString: broken, env: {} })
    assert.doesNotMatch(errorText(e), new RegExp(PASSWORD))
    assert.match(e.message, /withheld/)
  })

  it('echoes nothing of a configuration the SDK refuses, and still names its host', () => {
    const refused = options({ sslmode: 'disable', user: 'typed-user' })
    const e = explainPgConnectError(Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:6432'), { code: 'ECONNREFUSED' }), refused)
    assert.equal(e.message, `Cannot reach ${HOST} (10.1.2.3):6432 (ECONNREFUSED).`)
    assert.doesNotMatch(errorText(e), /sslmode|disable|INSECURE/)
    // Which password such a connection used is unknown: each one it could have used is withheld.
    const fromEnv = options({ sslmode: 'disable', password: undefined, env: { PGPASSWORD: 'env-Pa55word' } })
    assert.match(explainPgConnectError(new Error('x env-Pa55word'), fromEnv).message, /withheld/)
  })

  it('returns an AzurePgError as it is', () => {
    const ours = new AzurePgError('AUTH_FAILED', 'x.', { hint: 'y' })
    assert.equal(explainPgConnectError(ours, options()), ours)
  })

  it('with no configuration, reads the environment the SDK reads', () => {
    const e = explainPgConnectError(wrongPassword(), { env: { PGHOST: HOST, PGUSER: 'envuser', PGPASSWORD: PASSWORD } })
    assert.match(e.message, /^The server at mydemoserver\.postgres\.database\.azure\.com:5432 rejected the login of "envuser": /)
    const quoted = explainPgConnectError(new Error(`x ${PASSWORD}`), { env: { PGHOST: HOST, PGUSER: 'envuser', PGPASSWORD: PASSWORD } })
    assert.match(quoted.message, /withheld/)
  })

  it('explains with a configuration whose getter throws, without naming a server', () => {
    const hostile = Object.defineProperty({}, 'host', { get: () => { throw new Error('no') }, enumerable: true })
    const e = explainPgConnectError(wrongPassword(), hostile as AzurePgOptions)
    assert.equal(e.code, 'AUTH_FAILED')
    assert.match(e.message, /^The server at \(unknown host\):5432 rejected the login of "": /)
  })
})
