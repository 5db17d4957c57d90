import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseConnectionString } from '../../src/index.js'
import { errorText, expectAzureError } from '../support/assert-error.js'

const values = (s: string): Record<string, string> =>
  Object.fromEntries(Object.entries(parseConnectionString(s).params).map(([k, v]) => [k, v.value]))

describe('URI form', () => {
  it('decodes percent-encoded user names and reads query parameters', () => {
    const s = 'postgresql://myadmin%40mydemoserver:p%40ss%2Fw0rd@mydemoserver.postgres.database.azure.com:5432/postgres?sslmode=require&application_name=my%20app'
    assert.equal(parseConnectionString(s).form, 'uri')
    assert.deepEqual(values(s), {
      user: 'myadmin@mydemoserver', password: 'p@ss/w0rd', host: 'mydemoserver.postgres.database.azure.com',
      port: '5432', dbname: 'postgres', sslmode: 'require', application_name: 'my app',
    })
  })

  it('accepts postgres:// and a user name pasted with an unencoded @', () => {
    assert.deepEqual(values('postgres://myadmin@mydemoserver:secret@mydemoserver.postgres.database.azure.com/db'), {
      user: 'myadmin@mydemoserver', password: 'secret', host: 'mydemoserver.postgres.database.azure.com', dbname: 'db',
    })
  })

  it('reads bracketed IPv6 hosts and query-parameter hosts', () => {
    assert.deepEqual(values('postgresql://[::1]:6432/app'), { host: '::1', port: '6432', dbname: 'app' })
    assert.deepEqual(values('postgresql:///app?host=srv.postgres.database.azure.com&hostaddr=10.1.2.3'),
      { dbname: 'app', host: 'srv.postgres.database.azure.com', hostaddr: '10.1.2.3' })
  })

  it('refuses several hosts and malformed encodings without echoing the password', async () => {
    await expectAzureError(() => parseConnectionString('postgresql://u@h1,h2/db'), 'INVALID_CONFIG')
    const err = await expectAzureError(() => parseConnectionString('postgresql://u:Sup3r%ZZsecret@h/db'), 'INVALID_CONFIG')
    assert.match(err.message, /password/)
    assert.doesNotMatch(errorText(err), /Sup3r/)
  })

  it('reports keys it does not know', () => {
    assert.deepEqual(parseConnectionString('postgresql://h/db?schema=public').unknownKeys, ['schema'])
  })
})

describe('key=value form', () => {
  it("parses the seed document's psql string as written", () => {
    const seed = 'sslmode=verify-full sslrootcert=BaltimoreCyberTrustRoot.crt host=mydemoserver.postgres.database.azure.com dbname=postgres user=myusern@mydemoserver'
    assert.equal(parseConnectionString(seed).form, 'keyvalue')
    assert.deepEqual(values(seed), {
      sslmode: 'verify-full', sslrootcert: 'BaltimoreCyberTrustRoot.crt', host: 'mydemoserver.postgres.database.azure.com',
      dbname: 'postgres', user: 'myusern@mydemoserver',
    })
  })

  it('handles quoted values, escapes and spaces around =', () => {
    assert.deepEqual(values("host = h  password='it\\'s' user=a\\ b"), { host: 'h', password: "it's", user: 'a b' })
    assert.deepEqual(values("password='a b\\'c\\\\d' port=5432"), { password: "a b'c\\d", port: '5432' })
    assert.deepEqual(values("dbname=''"), { dbname: '' })
  })

  it('names the key when = or a closing quote is missing', async () => {
    assert.match((await expectAzureError(() => parseConnectionString('host=h sslmode'), 'INVALID_CONFIG')).message, /key "sslmode"/)
    // An unquoted password with a space: the stray word is not echoed, the key before it is named.
    const spaced = await expectAzureError(() => parseConnectionString('host=h password=correct horse user=u'), 'INVALID_CONFIG')
    assert.match(spaced.message, /after the value of "password"/)
    assert.doesNotMatch(errorText(spaced), /horse/)
    const err = await expectAzureError(() => parseConnectionString("host=h password='unterminated secret"), 'INVALID_CONFIG')
    assert.match(err.message, /"password"/)
    assert.doesNotMatch(errorText(err), /unterminated secret/)
  })
})

describe('ADO.NET (Npgsql) form', () => {
  it("parses the Azure portal's string with spaced, case-insensitive keys", () => {
    const s = 'Server=mydemoserver.postgres.database.azure.com;Database=postgres;Port=5432;User Id=myadmin@mydemoserver;Password=secret;Ssl Mode=Require;'
    assert.equal(parseConnectionString(s).form, 'adonet')
    assert.deepEqual(values(s), {
      host: 'mydemoserver.postgres.database.azure.com', dbname: 'postgres', port: '5432', user: 'myadmin@mydemoserver',
      password: 'secret', sslmode: 'Require',
    })
    assert.deepEqual(values('HOST=h; username = u ;SSLMODE=VerifyFull;Trust Server Certificate=true'),
      { host: 'h', user: 'u', sslmode: 'VerifyFull', trustservercertificate: 'true' })
  })

  it('reads quoted values holding ; and doubled quotes', () => {
    assert.deepEqual(values('Host=h;Password="a;b""c";Username=\'x\'\'y\''), { host: 'h', password: 'a;b"c', user: "x'y" })
  })

  it('refuses a key without a value, never echoing a password fragment', async () => {
    assert.match((await expectAzureError(() => parseConnectionString('Host=h;Port;'), 'INVALID_CONFIG')).message, /key "Port"/)
    const err = await expectAzureError(() => parseConnectionString('Host=h;Password=abc;xyz;Port=5432'), 'INVALID_CONFIG')
    assert.match(err.message, /after the value of "Password"/)
    assert.doesNotMatch(errorText(err), /xyz/)
  })
})

describe('JDBC form', () => {
  it('parses host, port, database and query parameters', () => {
    const s = 'jdbc:postgresql://mydemoserver.postgres.database.azure.com:5432/postgres?user=myadmin@mydemoserver&password=secret&sslmode=require&ApplicationName=svc'
    assert.equal(parseConnectionString(s).form, 'jdbc')
    assert.deepEqual(values(s), {
      host: 'mydemoserver.postgres.database.azure.com', port: '5432', dbname: 'postgres', user: 'myadmin@mydemoserver',
      password: 'secret', sslmode: 'require', application_name: 'svc',
    })
  })

  it('parses the host-less form', () => {
    assert.deepEqual(values('jdbc:postgresql:mydb?ssl=true'), { dbname: 'mydb', ssl: 'true' })
  })
})

it('refuses an empty string', async () => {
  await expectAzureError(() => parseConnectionString('  '), 'INVALID_CONFIG')
})
