// Azure's environment conventions, through the pure stage resolveSettings(options, env): Service
// Connector's AZURE_POSTGRESQL_* variables, AZURE_POSTGRESQL_CONNECTIONSTRING and DATABASE_URL, and the
// one precedence among them and the PG* variables. Expected values are literals.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveSettings, type Settings } from '../../src/config/resolve.js'
import type { AzurePgOptions } from '../../src/options.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const OTHER = 'otherserver.postgres.database.azure.com'

/** What Service Connector gives an App Service app for a password login. */
const SERVICE_CONNECTOR = {
  AZURE_POSTGRESQL_HOST: HOST, AZURE_POSTGRESQL_PORT: '5432', AZURE_POSTGRESQL_DATABASE: 'appdb',
  AZURE_POSTGRESQL_USER: 'scuser', AZURE_POSTGRESQL_PASSWORD: 'sc-Secret-1', AZURE_POSTGRESQL_SSL: 'true',
}

const settings = (env: Record<string, string>, options: AzurePgOptions = {}): Settings => resolveSettings(options, env)
const server = (s: Settings): unknown[] => [s.host, s.port, s.database, s.user, s.password]

describe('Service Connector variables', () => {
  it('describe the server on their own; AZURE_POSTGRESQL_SSL=true is require, raised to verify-full', () => {
    const s = settings(SERVICE_CONNECTOR)
    assert.deepEqual(server(s), [HOST, 5432, 'appdb', 'scuser', 'sc-Secret-1'])
    assert.equal(s.tls.requestedMode, 'require')
    assert.equal(s.tls.strengthened, true)
  })

  it('AZURE_POSTGRESQL_SSL=false is refused as sslmode=disable would be, naming the variable', () => {
    const err = expectAzureErrorSync(() => settings({ ...SERVICE_CONNECTOR, AZURE_POSTGRESQL_SSL: 'false' }), 'INSECURE_TLS')
    assert.match(err.message, /AZURE_POSTGRESQL_SSL/)
    assert.doesNotMatch(err.message + err.hint, /sc-Secret-1/)
    expectAzureErrorSync(() => settings({ ...SERVICE_CONNECTOR, AZURE_POSTGRESQL_SSL: 'maybe' }), 'INVALID_CONFIG')
  })

  it('AZURE_POSTGRESQL_CLIENTID selects the user-assigned managed identity of entra: true', () => {
    const env = { AZURE_POSTGRESQL_HOST: HOST, AZURE_POSTGRESQL_USER: 'my-identity', AZURE_POSTGRESQL_CLIENTID: '11111111-2222-3333-4444-555555555555' }
    const s = settings(env, { entra: true })
    assert.equal(s.entra?.managedIdentityClientId, '11111111-2222-3333-4444-555555555555')
    assert.equal(s.user, 'my-identity')
    assert.equal(settings(env, { entra: true, managedIdentityClientId: 'from-option' }).entra?.managedIdentityClientId, 'from-option')
    const own = { getToken: async () => null }
    assert.equal(settings(env, { entra: own }).entra?.managedIdentityClientId, undefined, 'a credential of your own is used as given')
    assert.equal(settings({ ...env, AZURE_POSTGRESQL_PASSWORD: 'x' }).entra, undefined, 'without entra the client id is not used')
  })

  it('keep PG* client settings that do not name a server: PGHOSTADDR, PGSSLROOTCERT, PGAPPNAME', () => {
    const s = settings({ ...SERVICE_CONNECTOR, PGHOSTADDR: '127.0.0.1', PGSSLROOTCERT: '/roots.pem', PGAPPNAME: 'app' })
    assert.equal(s.connectHost, '127.0.0.1')
    assert.deepEqual(s.tls.trust, { kind: 'file', path: '/roots.pem', origin: 'environment variable PGSSLROOTCERT' })
    assert.equal(s.pgExtras['application_name'], 'app')
  })
})

describe('connection strings from the environment', () => {
  it('DATABASE_URL alone describes the server', () => {
    const s = settings({ DATABASE_URL: `postgresql://urluser:url-Pw@${HOST}:6432/urldb?sslmode=require` })
    assert.deepEqual(server(s), [HOST, 6432, 'urldb', 'urluser', 'url-Pw'])
  })

  it('AZURE_POSTGRESQL_CONNECTIONSTRING in ADO.NET form describes the server, and beats DATABASE_URL', () => {
    const ado = `Server=${HOST};Database=adodb;Port=5432;User Id=adouser;Password=ado-Pw;Ssl Mode=Require;`
    const s = settings({ AZURE_POSTGRESQL_CONNECTIONSTRING: ado, DATABASE_URL: `postgresql://u:p@${OTHER}/db` })
    assert.deepEqual(server(s), [HOST, 5432, 'adodb', 'adouser', 'ado-Pw'])
  })

  it('an insecure sslmode in DATABASE_URL is refused, naming the variable', () => {
    const err = expectAzureErrorSync(() => settings({ DATABASE_URL: `postgresql://u:p@${HOST}/db?sslmode=disable` }), 'INSECURE_TLS')
    assert.match(err.message, /DATABASE_URL/)
  })

  it('a malformed DATABASE_URL is INVALID_CONFIG naming the variable, never the password', () => {
    const err = expectAzureErrorSync(() => settings({ DATABASE_URL: `postgresql://u:Leaky-Pw-9@${HOST}:54x2/db` }), 'INVALID_CONFIG')
    assert.match(err.message, /DATABASE_URL/)
    assert.doesNotMatch(err.message + err.hint, /Leaky-Pw-9/)
  })
})

describe('one precedence: options > connectionString option > PG* > Service Connector > AZURE_POSTGRESQL_CONNECTIONSTRING > DATABASE_URL', () => {
  const PG = { PGHOST: OTHER, PGUSER: 'pguser', PGPASSWORD: 'pg-Pw', PGDATABASE: 'pgdb', PGPORT: '1111' }
  const URL = `postgresql://urluser:url-Pw@${HOST}:2222/urldb`

  it('PGHOST makes the PG* variables the server; Service Connector and DATABASE_URL are not read', () => {
    const s = settings({ ...PG, ...SERVICE_CONNECTOR, DATABASE_URL: URL })
    assert.deepEqual(server(s), [OTHER, 1111, 'pgdb', 'pguser', 'pg-Pw'])
  })

  it('Service Connector beats DATABASE_URL; stray PGUSER/PGPASSWORD are not mixed into its server', () => {
    const s = settings({ PGUSER: 'stray', PGPASSWORD: 'stray-Pw', PGPORT: '9999', ...SERVICE_CONNECTOR, DATABASE_URL: URL })
    assert.deepEqual(server(s), [HOST, 5432, 'appdb', 'scuser', 'sc-Secret-1'])
  })

  it('DATABASE_URL is one source: a stray PGPASSWORD does not fill a password it lacks', () => {
    const s = settings({ PGPASSWORD: 'stray-Pw', PGUSER: 'stray', DATABASE_URL: `postgresql://urluser@${HOST}/urldb` })
    assert.deepEqual(server(s), [HOST, 5432, 'urldb', 'urluser', undefined])
  })

  it('a host in the options or the connectionString option: PG* fill the gaps (libpq), the other sources are not read', () => {
    const env = { PGPASSWORD: 'pg-Pw', ...SERVICE_CONNECTOR, DATABASE_URL: URL }
    const s = settings(env, { host: OTHER, user: 'optuser' })
    assert.deepEqual(server(s), [OTHER, 5432, 'optuser', 'optuser', 'pg-Pw'])
    const c = settings(env, { connectionString: `host=${OTHER} user=csuser dbname=csdb` })
    assert.deepEqual(server(c), [OTHER, 5432, 'csdb', 'csuser', 'pg-Pw'])
  })

  it('options beat a server from the environment field by field', () => {
    const s = settings({ ...SERVICE_CONNECTOR }, { database: 'optdb', password: 'opt-Pw' })
    assert.deepEqual(server(s), [HOST, 5432, 'optdb', 'scuser', 'opt-Pw'])
    const u = settings({ DATABASE_URL: URL }, { user: 'optuser' })
    assert.deepEqual(server(u), [HOST, 2222, 'urldb', 'optuser', 'url-Pw'])
  })

  it('when nothing names a host, the message lists every place looked at', () => {
    const err = expectAzureErrorSync(() => settings({ PGUSER: 'u' }), 'INVALID_CONFIG')
    for (const name of ['option "host"', 'connectionString', 'PGHOST', 'AZURE_POSTGRESQL_HOST', 'AZURE_POSTGRESQL_CONNECTIONSTRING', 'DATABASE_URL']) {
      assert.ok(err.message.includes(name), `${name} in: ${err.message}`)
    }
  })
})
