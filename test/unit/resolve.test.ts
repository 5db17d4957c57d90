import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { copyFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Socket } from 'node:net'
import { rootCertificates } from 'node:tls'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import { resolveAzurePgConfig, type AzurePgOptions } from '../../src/index.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { tempDirs } from '../support/temp-dir.js'

const tempDir = tempDirs('unit')
const HOST = 'mydemoserver.postgres.database.azure.com'
// Pins copied from docs/azure-facts.md, not from the code under test.
const G2 = 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F'
const MS2017 = 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0'
const G1 = '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61'

/**
 * Resolves with an empty environment unless one is given, so the machine's PG* variables never leak in,
 * and with the bundled roots, so nothing is downloaded (downloads are tested in trust-store.test.ts).
 */
const resolve = (o: AzurePgOptions) => resolveAzurePgConfig({ env: {}, certs: { source: 'bundled' }, ...o })

function fingerprints(ca: unknown): string[] {
  assert.ok(Array.isArray(ca))
  return ca.map((pem) => new X509Certificate(pem as string).fingerprint256).sort()
}

describe('resolved configuration', () => {
  it('defaults to verify-full against the three current Azure roots, TLS 1.2+', async () => {
    const c = await resolve({ host: HOST, user: 'myadmin', password: 'pw' })
    assert.equal(c.host, HOST)
    assert.equal(c.port, 5432)
    assert.equal(c.user, 'myadmin')
    assert.equal(c.database, 'myadmin')
    assert.equal(c.ssl.rejectUnauthorized, true)
    assert.equal(c.ssl.servername, HOST)
    assert.equal(c.ssl.minVersion, 'TLSv1.2')
    assert.deepEqual(fingerprints(c.ssl.ca), [G1, G2, MS2017].sort())
    assert.equal('connectionString' in c, false)
  })

  it('gives the same configuration for every connection-string form', async () => {
    const expected = {
      host: HOST, port: 5432, user: 'myadmin@mydemoserver', database: 'postgres', password: 's3cret', servername: HOST,
    }
    const forms = [
      `postgresql://myadmin%40mydemoserver:s3cret@${HOST}:5432/postgres?sslmode=require`,
      `host=${HOST} port=5432 dbname=postgres user=myadmin@mydemoserver password=s3cret sslmode=require`,
      `Server=${HOST};Database=postgres;Port=5432;User Id=myadmin@mydemoserver;Password=s3cret;Ssl Mode=Require;`,
      `jdbc:postgresql://${HOST}:5432/postgres?user=myadmin@mydemoserver&password=s3cret&sslmode=require`,
    ]
    for (const connectionString of forms) {
      const c = await resolve({ connectionString })
      assert.deepEqual({ host: c.host, port: c.port, user: c.user, database: c.database, password: c.password, servername: c.ssl.servername }, expected, connectionString)
      assert.equal(c.ssl.rejectUnauthorized, true)
    }
  })

  it('takes options over the connection string over the environment', async () => {
    const env = { PGHOST: 'envsrv.postgres.database.azure.com', PGUSER: 'envuser', PGPORT: '1111', PGDATABASE: 'envdb', PGPASSWORD: 'envpw', PGAPPNAME: 'envapp' }
    const fromEnv = await resolve({ env })
    assert.deepEqual([fromEnv.host, fromEnv.user, fromEnv.port, fromEnv.database, fromEnv.password, fromEnv.application_name], ['envsrv.postgres.database.azure.com', 'envuser', 1111, 'envdb', 'envpw', 'envapp'])
    const fromString = await resolve({ env, connectionString: `postgresql://struser@${HOST}:2222/strdb` })
    assert.deepEqual([fromString.host, fromString.user, fromString.port, fromString.database, fromString.password], [HOST, 'struser', 2222, 'strdb', 'envpw'])
    const fromOptions = await resolve({ env, connectionString: `postgresql://struser@${HOST}:2222/strdb`, user: 'optuser', port: 3333 })
    assert.deepEqual([fromOptions.user, fromOptions.port, fromOptions.database], ['optuser', 3333, 'strdb'])
  })

  it('applies Single Server naming and derives the server from the host', async () => {
    assert.equal((await resolve({ host: HOST, user: 'myadmin', serverType: 'single' })).user, 'myadmin@mydemoserver')
    assert.equal((await resolve({ host: 'db.contoso.internal', serverName: 'mydemoserver', user: 'myadmin', serverType: 'single' })).user, 'myadmin@mydemoserver')
    await expectAzureError(() => resolve({ host: HOST, user: 'myadmin@otherserver' }), 'USER_SERVER_MISMATCH')
    await expectAzureError(() => resolve({ host: HOST, serverName: 'other', user: 'u' }), 'INVALID_CONFIG')
  })

  it('takes only a host name or address as host, from options and the environment too, and never repeats another', async () => {
    for (const options of [{ host: 'a\nFORGED' }, { env: { PGHOST: 'srv\u001b[31m.postgres.database.azure.com' } }, { host: 'two words' }, { host: 'x'.repeat(254) }] as AzurePgOptions[]) {
      const err = await expectAzureError(() => resolve({ user: 'u', ...options }), 'INVALID_CONFIG')
      assert.match(err.message, /^The host \(from (option "host"|environment variable PGHOST)\) is not a host name or IP address\.$/)
    }
    for (const host of [HOST, '10.0.0.7', 'fe80::1%eth0', 'db_1.contoso.internal', 'localhost']) assert.equal((await resolve({ host, user: 'u' })).host, host)
  })

  it('refuses a user or database name holding a control or formatting character, naming where it came from, never the value', async () => {
    for (const options of [{ user: 'my\nadmin' }, { user: 'admin\u001b[2J' }, { env: { PGUSER: 'a\u200bb' } }, { user: 'u', database: 'db\r\nX' }] as AzurePgOptions[]) {
      const err = await expectAzureError(() => resolve({ host: HOST, ...options }), 'INVALID_CONFIG')
      assert.match(err.message, /^The (user|database) name \(from [^)]+\) holds a control or formatting character\.$/)
    }
    assert.equal((await resolve({ host: HOST, user: 'alice@contoso.com', database: 'My DB' })).user, 'alice@contoso.com')
  })

  it('refuses a connect limit a Node timer cannot hold (above 2^31 - 1 ms), which would fire at once', async () => {
    await expectAzureError(() => resolve({ host: HOST, user: 'u', connectionTimeoutMillis: 2 ** 31 }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', env: { PGCONNECT_TIMEOUT: '3000000' } }), 'INVALID_CONFIG')
    assert.equal((await resolve({ host: HOST, user: 'u', connectionTimeoutMillis: 2 ** 31 - 1 })).connectionTimeoutMillis, 2 ** 31 - 1)
    assert.equal((await resolve({ host: HOST, user: 'u', env: { PGCONNECT_TIMEOUT: '2147483' } })).connectionTimeoutMillis, 2_147_483_000)
  })

  it('connects to hostaddr while verifying against host', async () => {
    const c = await resolve({ connectionString: `host=${HOST} hostaddr=10.0.0.7 user=u` })
    // pg (and tracing) see the server's name; the socket pg makes goes to the address (nothing is sent here).
    assert.equal(c.host, HOST)
    assert.equal(c.ssl.servername, HOST)
    assert.equal(typeof c.stream, 'function')
    const withOwnStream = await resolve({ connectionString: `host=${HOST} hostaddr=10.0.0.7 user=u`, stream: () => new Socket() })
    assert.equal(withOwnStream.host, '10.0.0.7', 'a stream of the user\'s own decides where it goes: host is the address, as before')
    await expectAzureError(() => resolve({ host: HOST, hostaddr: 'not-an-ip', user: 'u' }), 'INVALID_CONFIG')
  })

  it('maps connect_timeout seconds to connectionTimeoutMillis and passes other pg options through', async () => {
    const c = await resolve({ connectionString: `host=${HOST} user=u connect_timeout=7`, statement_timeout: 500 })
    assert.equal(c.connectionTimeoutMillis, 7000)
    assert.equal(c.statement_timeout, 500)
  })

  it('keeps the password out of a printed or spread configuration, while pg still reads it', async () => {
    const c = await resolve({ host: HOST, user: 'myadmin', password: 'Pr1nted-never' })
    assert.equal(c.password, 'Pr1nted-never')
    assert.doesNotMatch(inspect(c, { depth: 5 }), /Pr1nted-never/)
    assert.doesNotMatch(JSON.stringify(c), /Pr1nted-never/)
    assert.equal(Object.keys(c).includes('password'), false)
  })

  it('names the key of a bad port, never the password', async () => {
    const err = await expectAzureError(() => resolve({ connectionString: `postgresql://u:Pw-Leak-42@${HOST}:54x2/db` }), 'INVALID_CONFIG')
    assert.match(err.message, /port/)
    assert.doesNotMatch(errorText(err), /Pw-Leak-42/)
    await expectAzureError(() => resolve({ host: HOST, user: 'u', port: 70000 }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', env: { PGPORT: 'five' } }), 'INVALID_CONFIG')
  })

  it('needs a host and a user, and knows its serverType values', async () => {
    await expectAzureError(() => resolve({ user: 'u' }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: HOST }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', serverType: 'basic' as 'single' }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: 'c-x.abc.postgres.cosmos.azure.com', user: 'citus', serverType: 'single' }), 'INVALID_CONFIG')
  })
})

describe('trust settings', () => {
  it('trusts a PEM file named by sslrootcert, and says which file is missing', async () => {
    const dir = await tempDir()
    const bundle = join(dir, 'bundle.pem')
    await writeFile(bundle, rootCertificates.slice(0, 2).join('\n'))
    const c = await resolve({ host: HOST, user: 'u', sslrootcert: bundle })
    assert.equal((c.ssl.ca as string[]).length, 2)
    const missing = await expectAzureError(() => resolve({ host: HOST, user: 'u', env: { PGSSLROOTCERT: join(dir, 'nope.pem') } }), 'INVALID_CONFIG')
    assert.match(missing.message, /nope\.pem/)
    const empty = join(dir, 'empty.pem')
    await writeFile(empty, '')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', sslrootcert: empty }), 'INVALID_CONFIG')
    const junk = join(dir, 'junk.pem')
    await writeFile(junk, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', sslrootcert: junk }), 'INVALID_CONFIG')
  })

  it("uses Node's built-in roots for sslrootcert=system, and ssl.ca as given", async () => {
    const sys = await resolve({ connectionString: `host=${HOST} user=u sslrootcert=system` })
    assert.deepEqual(sys.ssl.ca, [...rootCertificates])
    const ca = rootCertificates[0] ?? ''
    assert.equal((await resolve({ host: HOST, user: 'u', ssl: { ca } })).ssl.ca, ca)
    const notACertificate = '-----BEGIN CERTIFICATE-----\nMy own\n-----END CERTIFICATE-----\n'
    await expectAzureError(() => resolve({ host: HOST, user: 'u', ssl: { ca: notACertificate } }), 'INVALID_CONFIG')
    await expectAzureError(() => resolve({ host: HOST, user: 'u', ssl: { ca }, sslrootcert: 'x.pem' }), 'INVALID_CONFIG')
  })

  it("accepts the seed's string as written, warning that Baltimore has expired", async () => {
    const dir = await tempDir()
    await copyFile(new URL('../fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url), join(dir, 'BaltimoreCyberTrustRoot.crt'))
    const warnings: string[] = []
    const cwd = process.cwd()
    process.chdir(dir)
    try {
      const c = await resolve({
        connectionString: 'sslmode=verify-full sslrootcert=BaltimoreCyberTrustRoot.crt host=mydemoserver.postgres.database.azure.com dbname=postgres user=myusern@mydemoserver',
        logger: { warn: (m) => warnings.push(m) },
      })
      assert.deepEqual(fingerprints(c.ssl.ca), ['16:AF:57:A9:F6:76:B0:AB:12:60:95:AA:5E:BA:DE:F2:2A:B3:11:19:D6:44:AC:95:CD:4B:93:DB:F3:F2:6A:EB'])
      assert.equal(c.user, 'myusern@mydemoserver')
    } finally {
      process.chdir(cwd)
    }
    assert.equal(warnings.length, 1)
    assert.match(warnings[0] ?? '', /Baltimore CyberTrust Root.*expired/)
  })
})
