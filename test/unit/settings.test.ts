// resolveSettings, the pure stage: called directly and synchronously, with the environment as a
// parameter and nothing read from disk. The public API (resolveAzurePgConfig) is tested in resolve.test.ts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { rootCertificates } from 'node:tls'
import { resolveSettings, type Settings } from '../../src/config/resolve.js'
import type { AzurePgOptions } from '../../src/options.js'
import { expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
/** A real root certificate, from memory: the pure stage reads no file. */
const PEM = rootCertificates[0] ?? ''

function settings(options: AzurePgOptions, env: Record<string, string> = {}): Settings {
  const s = resolveSettings(options, env)
  assert.ok(!(s instanceof Promise), 'resolveSettings is synchronous')
  return s
}


describe('resolveSettings (pure)', () => {
  it('takes an option over the connection string over the environment, field by field', () => {
    const env = { PGHOST: 'env.postgres.database.azure.com', PGPORT: '1111', PGUSER: 'envuser', PGDATABASE: 'envdb', PGAPPNAME: 'envapp', PGSSLMODE: 'verify-ca' }
    const fromEnv = settings({}, env)
    assert.deepEqual([fromEnv.host, fromEnv.port, fromEnv.user, fromEnv.database, fromEnv.pgExtras['application_name'], fromEnv.tls.requestedMode],
      ['env.postgres.database.azure.com', 1111, 'envuser', 'envdb', 'envapp', 'verify-ca'])
    const cs = `host=${HOST} port=2222 user=csuser dbname=csdb application_name=csapp sslmode=require`
    const fromString = settings({ connectionString: cs }, env)
    assert.deepEqual([fromString.host, fromString.port, fromString.user, fromString.database, fromString.pgExtras['application_name'], fromString.tls.requestedMode],
      [HOST, 2222, 'csuser', 'csdb', 'csapp', 'require'])
    const fromOptions = settings({ connectionString: cs, host: 'opt.postgres.database.azure.com', port: 3333, user: 'optuser', database: 'optdb', application_name: 'optapp', sslmode: 'verify-full' }, env)
    assert.deepEqual([fromOptions.host, fromOptions.port, fromOptions.user, fromOptions.database, fromOptions.pgExtras['application_name'], fromOptions.tls.requestedMode],
      ['opt.postgres.database.azure.com', 3333, 'optuser', 'optdb', 'optapp', 'verify-full'])
  })

  it('applies defaults: port 5432, database = user, verify-full, Azure roots, auto negotiation, learning on disk', () => {
    const s = settings({ host: HOST, user: 'myadmin' })
    assert.equal(s.port, 5432)
    assert.equal(s.database, 'myadmin')
    assert.equal(s.tls.requestedMode, 'verify-full')
    assert.deepEqual(s.tls.trust, { kind: 'azure' })
    assert.equal(s.tls.sslnegotiation, 'auto')
    assert.equal(s.learn, 'disk')
    assert.equal(s.tls.servername, HOST)
    assert.equal(s.serverType, 'auto')
    assert.equal(s.certs.source, 'auto')
    assert.equal(s.certs.timeoutMs, 5000)
  })

  it('reads the certificate settings from the same table (options over AZURE_PG_TLS_*)', () => {
    const env = { AZURE_PG_TLS_CERT_SOURCE: 'bundled', AZURE_PG_TLS_CACHE_DIR: '/env/cache', AZURE_PG_TLS_OFFLINE: '1', AZURE_PG_TLS_CERT_MIRROR: 'https://mirror.example/roots/' }
    const s = settings({ host: HOST, user: 'u' }, env)
    assert.deepEqual([s.certs.source, s.certs.cacheDir, s.certs.offline, s.certs.mirror], ['bundled', '/env/cache', true, 'https://mirror.example/roots/'])
    const o = settings({ host: HOST, user: 'u', certs: { source: 'download', cacheDir: '/opt/cache', offline: false } }, env)
    assert.deepEqual([o.certs.source, o.certs.cacheDir, o.certs.offline], ['download', '/opt/cache', false])
  })

  it('only names a root file: sslrootcert pointing nowhere resolves (the file is read when connecting)', () => {
    const s = settings({ host: HOST, user: 'u', sslrootcert: '/does/not/exist.pem' })
    assert.deepEqual(s.tls.trust, { kind: 'file', path: '/does/not/exist.pem', origin: 'option "sslrootcert"' })
  })

  it('refuses ssl.ca beside an sslrootcert option, but lets ssl.ca win over PGSSLROOTCERT', () => {
    assert.equal(expectAzureErrorSync(() => resolveSettings({ host: HOST, user: 'u', sslrootcert: '/a.pem', ssl: { ca: PEM } }, {})).code, 'INVALID_CONFIG')
    const s = settings({ host: HOST, user: 'u', ssl: { ca: PEM } }, { PGSSLROOTCERT: '/env.pem' })
    assert.deepEqual(s.tls.trust, { kind: 'inline', ca: PEM })
  })

  it('applies Azure naming once, at resolution', () => {
    assert.equal(settings({ host: HOST, user: 'myadmin', serverType: 'single' }).user, 'myadmin@mydemoserver')
    assert.equal(settings({ host: HOST, user: 'myadmin' }, { AZURE_PG_TLS_SERVER_TYPE: 'single' }).user, 'myadmin@mydemoserver')
    assert.equal(expectAzureErrorSync(() => resolveSettings({ host: HOST, user: 'myadmin@otherserver' }, {})).code, 'USER_SERVER_MISMATCH')
  })

  it('is frozen: nothing downstream can change what was decided', () => {
    const s = settings({ host: HOST, user: 'u' })
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.tls) && Object.isFrozen(s.certs) && Object.isFrozen(s.pgExtras) && Object.isFrozen(s.warnings))
  })

  it('treats entra false, null and 0 as off, and anything but true or a credential as INVALID_CONFIG', () => {
    for (const entra of [false, null, 0]) {
      assert.equal(settings({ host: HOST, user: 'u', entra: entra as unknown as true }).entra, undefined)
    }
    assert.equal(expectAzureErrorSync(() => resolveSettings({ host: HOST, user: 'u', entra: 'yes' as unknown as true }, {})).code, 'INVALID_CONFIG')
    const credential = { getToken: async () => null }
    assert.equal(settings({ host: HOST, entra: credential }).entra?.credential, credential)
    assert.equal(settings({ host: HOST, entra: true }).entra?.scope, 'https://ossrdbms-aad.database.windows.net/.default')
  })

  it('warns about unknown connection-string keys, naming identifier-like keys only', () => {
    const s = settings({ connectionString: `host=${HOST} user=u keepalives=1` })
    assert.deepEqual(s.warnings, ['connection string key "keepalives" is not used by azure-pg-tls and was ignored.'])
  })

  it('counts unknown keys that are not well known, never naming them', () => {
    const s = settings({ connectionString: `host=${HOST} user=u password=Sup3r Zk9=1 Qv7=2 gssencmode=disable` })
    assert.deepEqual(s.warnings, [
      'connection string key "gssencmode" is not used by azure-pg-tls and was ignored.',
      '2 connection string keys unknown to azure-pg-tls were ignored (not named, in case one is part of a mis-quoted password).',
    ])
  })

  it('names the origin, never a string-sourced value, when refusing sslmode, sslnegotiation or serverName', () => {
    for (const [cs, about] of [
      [`host=${HOST} user=u sslmode=Sup3rMode`, /sslmode \(from connection string key "sslmode"\) is not a known sslmode/],
      [`host=${HOST} user=u sslnegotiation=Sup3rNeg`, /sslnegotiation \(from connection string key "sslnegotiation"\)/],
      [`Server=${HOST};User Id=u;Trust Server Certificate=yes`, /Trust Server Certificate=true \(from connection string key "Trust Server Certificate"\)/],
    ] as const) {
      const err = expectAzureErrorSync(() => resolveSettings({ connectionString: cs }, {}))
      assert.match(err.message, about)
      assert.doesNotMatch(`${err.message} ${err.hint}`, /Sup3r|yes/)
    }
    const err = expectAzureErrorSync(() => resolveSettings({ connectionString: `host=${HOST} user=u`, serverName: 'otherserver' }, {}), 'INVALID_CONFIG')
    assert.match(err.message, /serverName \(from option "serverName"\) differs from the server named in the host \(from connection string key "host"\)/)
  })
})
