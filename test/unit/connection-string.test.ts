// The connection-string parser, form by form. Expected readings are written out by hand from each
// driver's grammar (libpq's fe-connect.c, .NET's DbConnectionOptions with Npgsql's keywords, pgjdbc's
// Driver.parseURL); refusals must name a position or a known key and never echo text of the string.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseConnectionString } from '../../src/index.js'
import { errorText, expectAzureErrorSync } from '../support/assert-error.js'

const values = (s: string): Record<string, string> =>
  Object.fromEntries(Object.entries(parseConnectionString(s).params).map(([k, v]) => [k, v.value]))

/** Asserts `s` is refused as INVALID_CONFIG, that the message matches `about`, and that no `secret` shows. */
function refused(s: string, about: RegExp, ...secrets: string[]): void {
  const err = expectAzureErrorSync(() => parseConnectionString(s), 'INVALID_CONFIG')
  assert.match(err.message, about, s)
  for (const secret of secrets) assert.ok(!errorText(err).includes(secret), `${secret} echoed: ${err.message} / ${err.hint}`)
}

describe('URI form (libpq grammar)', () => {
  it('decodes every part and reads query parameters', () => {
    const s = 'postgresql://myadmin%40mydemoserver:p%40ss%2Fw0rd@mydemoserver.postgres.database.azure.com:5432/postgres?sslmode=require&application_name=my%20app'
    assert.equal(parseConnectionString(s).form, 'uri')
    assert.deepEqual(values(s), {
      user: 'myadmin@mydemoserver', password: 'p@ss/w0rd', host: 'mydemoserver.postgres.database.azure.com',
      port: '5432', dbname: 'postgres', sslmode: 'require', application_name: 'my app',
    })
  })

  it('ends the user part at the first @, so ? # & ; = may stand unencoded in a password', () => {
    assert.deepEqual(values('postgres://u:a?b#c&d;e=f@h.example.com/db'), { user: 'u', password: 'a?b#c&d;e=f', host: 'h.example.com', dbname: 'db' })
    assert.deepEqual(values('postgresql://u:pa:ss@h.example.com'), { user: 'u', password: 'pa:ss', host: 'h.example.com' })
    assert.deepEqual(values('postgresql://:pw@h.example.com'), { password: 'pw', host: 'h.example.com' })
  })

  it('treats # as data and keeps / inside the database name', () => {
    assert.deepEqual(values('postgresql://h.example.com/my#db/x?application_name=a#b'), { host: 'h.example.com', dbname: 'my#db/x', application_name: 'a#b' })
  })

  it('sets nothing for empty parts, and reads [IPv6] hosts and query-parameter hosts', () => {
    assert.deepEqual(values('postgresql://@:/?'), {})
    assert.deepEqual(values('postgresql://[::1]:6432/app'), { host: '::1', port: '6432', dbname: 'app' })
    assert.deepEqual(values('postgresql://[fe80::1]?sslmode=verify-full'), { host: 'fe80::1', sslmode: 'verify-full' })
    assert.deepEqual(values('postgresql:///app?host=srv.postgres.database.azure.com&hostaddr=10.1.2.3&'),
      { dbname: 'app', host: 'srv.postgres.database.azure.com', hostaddr: '10.1.2.3' })
    assert.deepEqual(values('postgresql://h.example.com/db?ssl=true&requiressl=1'), { host: 'h.example.com', dbname: 'db', ssl: 'true', sslmode: 'require' })
    assert.deepEqual(values('postgresql://h.example.com?requiressl=0'), { host: 'h.example.com', sslmode: 'prefer' })
  })

  it('refuses what libpq refuses, naming the part and not the text', () => {
    refused('postgresql://u:Sup3r%ZZsecret@h/db', /password part of the URI has a malformed percent-encoding/, 'Sup3r', 'secret')
    refused('postgresql://u:Sup3r%00secret@h/db', /password part of the URI contains %00/, 'Sup3r')
    refused('postgresql://u:Sup3r%FFsecret@h/db', /password part of the URI is not UTF-8/, 'Sup3r')
    refused('postgresql://h/db?sslmode=require&&user=u', /query item 2 of the URI has no "="/)
    refused('postgresql://h/db?password=Sup3r=secret', /query item 1 of the URI has more than one "="/, 'Sup3r', 'secret')
    refused('postgresql://h/db?Sup3rsecret', /query item 1 of the URI has no "="/, 'Sup3r')
    refused('postgresql://[::1', /no closing "\]"/)
    refused('postgresql://[]:5432/db', /IPv6 host of the URI is empty/)
    refused('postgresql://[::1]x/db', /IPv6 host of the URI is followed/)
    refused('postgresql://u@h1,h2/db', /several hosts/)
  })

  it('refuses a password with an unencoded / or @, which libpq reads as host and port', () => {
    // libpq finds no user part before the "/", so "u" is the host and "Sup3r" the port.
    refused('postgresql://u:Sup3r/secret@h.example.com/db', /port part of the URI is not a port number/, 'Sup3r', 'secret')
    // The first "@" ends the user part: the rest is host "mydemoserver", port "Sup3r@h...".
    refused('postgresql://myadmin@mydemoserver:Sup3r@h.example.com/db', /port part of the URI is not a port number/, 'Sup3r')
    // Host "Sup3r@h.example.com" would go to DNS: refused as not a host name.
    refused('postgresql://u:pw@Sup3r@h.example.com/db', /host part of the URI is not a host name/, 'Sup3r')
    // A query before the host with an "@" in a value would make a host out of a password.
    refused('postgresql://h.example.com?password=Sup3r@evil.example.com', /user part of the URI contains "\?"/, 'Sup3r', 'evil')
  })

  it('reads URI prefixes case-sensitively, as libpq does', () => {
    refused('POSTGRESQL://u:Sup3r@h/db', /scheme/, 'Sup3r')
  })

  it('reports well-known unknown keys by name and counts the others', () => {
    const parsed = parseConnectionString('postgresql://h.example.com/db?schema=public&keepalives=1&zzkey=1')
    assert.deepEqual(parsed.unknownKeys, ['schema', 'keepalives'])
    assert.equal(parsed.unnamedUnknownKeys, 1)
  })
})

describe('key=value form (libpq grammar)', () => {
  it("parses the seed document's psql string as written", () => {
    const seed = 'sslmode=verify-full sslrootcert=BaltimoreCyberTrustRoot.crt host=mydemoserver.postgres.database.azure.com dbname=postgres user=myusern@mydemoserver'
    assert.equal(parseConnectionString(seed).form, 'keyvalue')
    assert.deepEqual(values(seed), {
      sslmode: 'verify-full', sslrootcert: 'BaltimoreCyberTrustRoot.crt', host: 'mydemoserver.postgres.database.azure.com',
      dbname: 'postgres', user: 'myusern@mydemoserver',
    })
  })

  it('handles quotes, backslash escapes, spaces around = and a quote followed directly by a key', () => {
    assert.deepEqual(values("host = h  password='it\\'s' user=a\\ b"), { host: 'h', password: "it's", user: 'a b' })
    assert.deepEqual(values("password='a b\\'c\\\\d' port=5432"), { password: "a b'c\\d", port: '5432' })
    assert.deepEqual(values("dbname=''"), { dbname: '' })
    assert.deepEqual(values("password='x'user=u"), { password: 'x', user: 'u' })
    // libpq skips white space after "=": the next pair becomes the value.
    assert.deepEqual(values('dbname= user=u'), { dbname: 'user=u' })
    // A backslash at the very end is dropped.
    assert.deepEqual(values('user=u password=abc\\'), { user: 'u', password: 'abc' })
  })

  it('keeps a libpq string whose unquoted password holds ; as key=value', () => {
    const s = 'host=h.example.com user=u password=Sup3r;secret dbname=postgres'
    assert.equal(parseConnectionString(s).form, 'keyvalue')
    assert.deepEqual(values(s), { host: 'h.example.com', user: 'u', password: 'Sup3r;secret', dbname: 'postgres' })
    assert.deepEqual(values('password=a;Host=evil.example.com;x=y host=h.example.com'), { password: 'a;Host=evil.example.com;x=y', host: 'h.example.com' })
  })

  it('compares keys case-sensitively, as libpq does', () => {
    const parsed = parseConnectionString('host=h.example.com HOST=x')
    assert.deepEqual(values('host=h.example.com HOST=x'), { host: 'h.example.com' })
    assert.equal(parsed.unnamedUnknownKeys, 1)
    assert.deepEqual(parsed.unknownKeys, [])
  })

  it('refuses a missing = or closing quote without echoing the stray text', () => {
    refused('host=h sslmode', /after the value of key "host" has no "="/)
    refused('host=h password=correct horse user=u', /after the value of key "password" has no "="/, 'horse')
    refused("host=h password='Sup3r secret", /value of key "password" has an unterminated quote/, 'Sup3r', 'secret')
    // The key before the stray word is itself unknown: it is not named either.
    refused('host=h Sup3rkey=x stray', /after the value of an unknown key/, 'Sup3rkey', 'stray')
  })
})

describe('ADO.NET form (DbConnectionStringBuilder grammar, Npgsql keywords)', () => {
  it("parses the Azure portal's string with spaced, case-insensitive keywords", () => {
    const s = 'Server=mydemoserver.postgres.database.azure.com;Database=postgres;Port=5432;User Id=myadmin@mydemoserver;Password=secret;Ssl Mode=Require;'
    assert.equal(parseConnectionString(s).form, 'adonet')
    assert.deepEqual(values(s), {
      host: 'mydemoserver.postgres.database.azure.com', dbname: 'postgres', port: '5432', user: 'myadmin@mydemoserver',
      password: 'secret', sslmode: 'Require',
    })
    assert.deepEqual(values('HOST=h; username = u ;SSLMODE=VerifyFull;Trust Server Certificate=true'),
      { host: 'h', user: 'u', sslmode: 'VerifyFull', trustservercertificate: 'true' })
  })

  it('knows Npgsql synonyms and keywords', () => {
    assert.deepEqual(values('Host=h;DB=d;UID=u;PWD=p;SslMode=Require;Root Certificate=/r.pem;Application Name=app;Timeout=7;Options=-c x=1;Client Encoding=UTF8;SSL Password=k'),
      { host: 'h', dbname: 'd', user: 'u', password: 'p', sslmode: 'Require', sslrootcert: '/r.pem', application_name: 'app', connect_timeout: '7', options: '-c x=1', client_encoding: 'UTF8', sslpassword: 'k' })
    assert.deepEqual(values('Server=h;User Name=u;PSW=p;Encoding=LATIN1'), { host: 'h', user: 'u', password: 'p', client_encoding: 'LATIN1' })
    const parsed = parseConnectionString('Host=h;Command Timeout=30;Pooling=false;Maximum Pool Size=5;Frobnicate=1')
    assert.deepEqual(parsed.unknownKeys, ['Command Timeout', 'Pooling', 'Maximum Pool Size'])
    assert.equal(parsed.unnamedUnknownKeys, 1)
  })

  it('reads a port inside Host, which beats the Port keyword', () => {
    assert.deepEqual(values('Host=h.example.com:6432;Port=5432'), { host: 'h.example.com', port: '6432' })
    assert.deepEqual(values('Port=5432;Host=[::1]:6432'), { host: '::1', port: '6432' })
    assert.deepEqual(values('Host=::1;Port=5433'), { host: '::1', port: '5433' })
    refused('Host=h.example.com:Sup3r', /port inside the value of key "Host"/, 'Sup3r')
  })

  it('reads quoted values: both quotes, doubled quotes, ; and = inside, white space kept', () => {
    assert.deepEqual(values('Host=h;Password="a;b""c";Username=\'x\'\'y\''), { host: 'h', password: 'a;b"c', user: "x'y" })
    assert.deepEqual(values('Password=" a=b ";Host=h'), { password: ' a=b ', host: 'h' })
    assert.deepEqual(values('Password = "q"  ; Host=h'), { password: 'q', host: 'h' })
    // Unquoted values are trimmed and may hold quotes and = inside.
    assert.deepEqual(values('Password=  a"b=c  ;Host=h'), { password: 'a"b=c', host: 'h' })
  })

  it('reads == in a key as =, = inside a value as data, and Key=; as no value', () => {
    assert.deepEqual(values('Host=h;Password=a==b'), { host: 'h', password: 'a==b' })
    assert.deepEqual(values('Host=h;Password=p;Password=;'), { host: 'h' })
    // "Pass==word" is the key "pass=word": no keyword, and not keyword-shaped either.
    refused('Host=h;Pass==word=x', /not a keyword/)
  })

  it('refuses what DbConnectionStringBuilder refuses, without echo', () => {
    refused('Host=h;Password="Sup3r"secret;', /text after its closing quote/, 'Sup3r', 'secret')
    refused('Host=h;Password="Sup3r secret', /unterminated quote/, 'Sup3r', 'secret')
    refused("Host=h;Password=Sup3r'", /ends with a quote/, 'Sup3r')
    refused('Host=h;=Sup3r', /is empty/, 'Sup3r')
  })

  it('refuses a value pasted with an unquoted ; instead of reading its tail as a key', () => {
    refused('Host=h;Password=abc;x/yz;Port=5432', /not a keyword/, 'x/yz')
    refused('Host=h;Port;', /no "="/)
  })
})

describe('JDBC form (pgjdbc Driver.parseURL)', () => {
  it('parses host, port, database and query parameters', () => {
    const s = 'jdbc:postgresql://mydemoserver.postgres.database.azure.com:5432/postgres?user=myadmin@mydemoserver&password=secret&sslmode=require&ApplicationName=svc'
    assert.equal(parseConnectionString(s).form, 'jdbc')
    assert.deepEqual(values(s), {
      host: 'mydemoserver.postgres.database.azure.com', port: '5432', dbname: 'postgres', user: 'myadmin@mydemoserver',
      password: 'secret', sslmode: 'require', application_name: 'svc',
    })
  })

  it('URL-decodes the database and values (+ is a space), not keys, and treats # as data', () => {
    assert.deepEqual(values('jdbc:postgresql://h.example.com/my+db?password=a+b%2Bc%26d#e&user=u%40x'),
      { host: 'h.example.com', dbname: 'my db', password: 'a b+c&d#e', user: 'u@x' })
    assert.deepEqual(values('jdbc:postgresql://h.example.com/db?password=%C3%A9%FF'), { host: 'h.example.com', dbname: 'db', password: 'é\uFFFD' })
  })

  it('reads the short forms and ssl with no value', () => {
    assert.deepEqual(values('jdbc:postgresql:mydb?ssl=true'), { dbname: 'mydb', ssl: 'true' })
    assert.deepEqual(values('jdbc:postgresql://h.example.com/?ssl'), { host: 'h.example.com', ssl: 'true' })
    assert.deepEqual(values('jdbc:postgresql://h.example.com/?ssl='), { host: 'h.example.com', ssl: 'true' })
    assert.deepEqual(values('jdbc:postgresql://?user=u'), { user: 'u' })
    assert.deepEqual(values('jdbc:postgresql://[::1]:5433/db'), { host: '::1', port: '5433', dbname: 'db' })
    assert.deepEqual(values('jdbc:postgresql://:5433/db'), { host: 'localhost', port: '5433', dbname: 'db' })
    assert.deepEqual(values('jdbc:postgresql://x/db?host=h.example.com&PORT=6432&DBNAME=d2&loginTimeout=5'), { host: 'h.example.com', port: '6432', dbname: 'd2', connect_timeout: '5' })
  })

  it('refuses what pgjdbc refuses, without echo', () => {
    refused('jdbc:postgresql:/db', /single "\/"/)
    refused('jdbc:postgresql://h.example.com:5432', /no "\/" after the host/)
    refused('jdbc:postgresql://h.example.com/db/Sup3r', /more than one "\/"/, 'Sup3r')
    refused('jdbc:postgresql://h.example.com:/db', /port part of the JDBC URL/)
    refused('jdbc:postgresql://h.example.com:70000/db', /port part of the JDBC URL/)
    refused('jdbc:postgresql://u:Sup3r@h.example.com/db', /port part of the JDBC URL/, 'Sup3r')
    refused('jdbc:postgresql://h.example.com/db?password=Sup3r%G1', /query item 1 of the JDBC URL has a malformed percent-encoding/, 'Sup3r')
    refused('jdbc:postgresql://h.example.com/db?password=Sup3r%4', /incomplete percent-encoding/, 'Sup3r')
    refused('jdbc:postgresql://a.example.com,b.example.com/db', /several hosts/)
    refused('jdbc:postgresql://h.example.com/db?service=mine', /service/)
  })
})

describe('form detection by grammar', () => {
  it('refuses a string that parses as no form, naming why for each form and echoing nothing', () => {
    refused('Sup3rsecret', /no form/, 'Sup3r')
    refused('Host=h;Password=Sup3r;xyz;Port=5432', /no form/, 'Sup3r', 'xyz')
  })

  it('never returns a host built from a broken parse', () => {
    // As ADO.NET, "host" would be "h password=Sup3r secret": no grammar reads the string cleanly.
    refused('host=h password=Sup3r secret', /no form/, 'Sup3r', 'secret')
    refused('Server=Sup3r secret.example.com;User Id=u', /not a host name/, 'Sup3r')
    refused('host=Sup3r@evil.example.com user=u', /not a host name/, 'Sup3r')
  })

  it('refuses an empty string', () => {
    refused('  ', /empty/)
  })
})
