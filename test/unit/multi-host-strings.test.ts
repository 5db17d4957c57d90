// Multi-host connection strings in every form (issue 22), read as each driver reads them: libpq's key=value
// and URI (fe-connect.c: conninfo_uri_parse_options joins hosts and ports into two comma lists), pgjdbc's
// URL (Driver.parseURL, PGPropertyUtil's one-port-per-host check), Npgsql's Host (TrySplitHostPort per
// entry, the Port keyword for entries without one); and target_session_attrs / load_balance_hosts in each
// driver's own spelling. Every expected value is written out by hand.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveSettings, type Settings } from '../../src/config/resolve.js'
import { parseConnectionString } from '../../src/index.js'
import { errorText, expectAzureErrorSync } from '../support/assert-error.js'

const A = 'srva.postgres.database.azure.com'
const B = 'srvb.postgres.database.azure.com'

const values = (s: string): Record<string, string> =>
  Object.fromEntries(Object.entries(parseConnectionString(s).params).map(([k, v]) => [k, v.value]))

const settings = (connectionString: string, env: Record<string, string> = {}): Settings => resolveSettings({ connectionString }, env)

/** host, connectHost and port of each server, as `host|connectHost|port`. */
const targets = (s: Settings): string[] => s.hosts.map((h) => `${h.host}|${h.connectHost}|${h.port}`)

function refused(s: string, about: RegExp, ...secrets: string[]): void {
  const err = expectAzureErrorSync(() => settings(s), 'INVALID_CONFIG')
  assert.match(err.message, about, s)
  for (const secret of secrets) assert.ok(!errorText(err).includes(secret), `${secret} echoed: ${err.message}`)
}

describe('libpq key=value', () => {
  it('reads host, port and hostaddr lists, paired by position', () => {
    assert.deepEqual(values(`host=${A},${B} port=5432,6432 user=u`), { host: `${A},${B}`, port: '5432,6432', user: 'u' })
    assert.deepEqual(targets(settings(`host=${A},${B} port=5432,6432 user=u`)), [`${A}|${A}|5432`, `${B}|${B}|6432`])
    assert.deepEqual(targets(settings(`host=${A},${B} hostaddr=10.0.0.1,10.0.0.2 port=6432 user=u`)), [`${A}|10.0.0.1|6432`, `${B}|10.0.0.2|6432`])
    assert.deepEqual(targets(settings(`host=${A},${B} port=,6432 user=u`)), [`${A}|${A}|5432`, `${B}|${B}|6432`])
  })

  it('refuses count mismatches, empty hosts and bad entries, naming positions only', () => {
    refused(`host=${A},${B} port=1,2,3 user=u`, /port \(from connection string key "port"\) has 3 entries for 2 servers/)
    refused(`host=${A},${B} hostaddr=10.0.0.1 user=u`, /names 2 servers and hostaddr .* 1 address/)
    refused(`host=${A},,${B} user=u`, /entry 2 of host \(from connection string key "host"\) is empty/)
    refused(`host=${A},Sup3r!x user=u`, /entry 2 of the value of key "host" is not a host name/, 'Sup3r')
    refused(`host=${A},${B} hostaddr=10.0.0.1,Sup3r user=u`, /value of key "hostaddr" is not an IP address list/, 'Sup3r')
    refused(`host=${A},${B} port=5432,x user=u`, /value of key "port" is not a port number list/)
  })
})

describe('libpq URI', () => {
  it('joins host[:port] entries into libpq\'s two lists', () => {
    assert.deepEqual(values(`postgresql://u@${A}:5432,${B}:5433/db`), { user: 'u', host: `${A},${B}`, port: '5432,5433', dbname: 'db' })
    // An entry without a port is empty in the port list; libpq stores the list "," for two bare hosts.
    assert.deepEqual(values(`postgresql://u@${A},${B}/db`), { user: 'u', host: `${A},${B}`, port: ',', dbname: 'db' })
    assert.deepEqual(values(`postgresql://u@${A},${B}:5433/db`), { user: 'u', host: `${A},${B}`, port: ',5433', dbname: 'db' })
    assert.deepEqual(targets(settings(`postgresql://u@${A},${B}:5433/db`)), [`${A}|${A}|5432`, `${B}|${B}|5433`])
  })

  it('lets a query port serve every host, and a query host list replace the netlocs', () => {
    assert.deepEqual(targets(settings(`postgresql://u@${A},${B}/db?port=6432`)), [`${A}|${A}|6432`, `${B}|${B}|6432`])
    assert.deepEqual(targets(settings(`postgresql:///db?host=${A},${B}&port=6432,6433&user=u`)), [`${A}|${A}|6432`, `${B}|${B}|6433`])
    assert.deepEqual(targets(settings(`postgresql://u@${A},${B}/db?hostaddr=10.0.0.1,10.0.0.2`)), [`${A}|10.0.0.1|5432`, `${B}|10.0.0.2|5432`])
  })

  it('reads bracketed IPv6 entries, with and without ports', () => {
    assert.deepEqual(values('postgresql://u@[::1]:5432,[2001:db8::7]:5433/db'), { user: 'u', host: '::1,2001:db8::7', port: '5432,5433', dbname: 'db' })
    assert.deepEqual(values(`postgresql://u@[::1],${A}/db`), { user: 'u', host: `::1,${A}`, port: ',', dbname: 'db' })
    assert.deepEqual(targets(settings('postgresql://u@[::1]:5432,[2001:db8::7]:5433/db')), ['::1|::1|5432', '2001:db8::7|2001:db8::7|5433'])
  })

  it('refuses a broken entry anywhere in the list', () => {
    refused(`postgresql://u@${A},[::1/db`, /no closing "\]"/)
    refused(`postgresql://u@${A},[]/db`, /IPv6 host of the URI is empty/)
    refused(`postgresql://u@${A}:5432,${B}:x/db`, /port part of the URI is not a port number list/)
    refused(`postgresql://u@${A},Sup3r%20x/db`, /entry 2 of the host part of the URI is not a host name/, 'Sup3r')
    refused(`postgresql://u@${A},,${B}/db`, /entry 2 of host .* is empty/)
  })

  it('keeps white space in query parameters as libpq does: a padded key is refused, a padded value is not trimmed', () => {
    refused(`postgresql://u@${A}/db?%20channel_binding=require`, /has white space around a setting's name/)
    refused(`postgresql://u@${A}/db?channel_binding%20=require`, /has white space around a setting's name/)
    refused(`postgresql://u@${A}/db?target_session_attrs=%20primary`, /target_session_attrs \(from connection string key "target_session_attrs"\) is not one of libpq's values/)
    refused(`postgresql://u@${A}/db?require_auth=scram-sha-256%20`, /require_auth .* is not one of libpq's method names/)
    refused(`postgresql://u@${A}/db?host=${A},%20${B}`, /entry 2 of the host part of the URI is not a host name/)
    // Padding inside a value that is a number is allowed, as libpq's integer parser allows it.
    assert.deepEqual(targets(settings(`postgresql://u@${A}/db?port=%206432%20`)), [`${A}|${A}|6432`])
  })
})

describe('pgjdbc URL', () => {
  it('reads host:port addresses into lists, 5432 for an address without a port', () => {
    assert.deepEqual(values(`jdbc:postgresql://${A}:5432,${B}:5433/db?user=u`), { host: `${A},${B}`, port: '5432,5433', dbname: 'db', user: 'u' })
    assert.deepEqual(values(`jdbc:postgresql://${A},${B}:5433/db?user=u`), { host: `${A},${B}`, port: ',5433', dbname: 'db', user: 'u' })
    assert.deepEqual(targets(settings(`jdbc:postgresql://${A},${B}:5433/db?user=u`)), [`${A}|${A}|5432`, `${B}|${B}|5433`])
    assert.deepEqual(values('jdbc:postgresql://[::1]:5432,[2001:db8::7]/db'), { host: '::1,2001:db8::7', port: '5432,', dbname: 'db' })
    // Java's split drops a trailing empty address.
    assert.deepEqual(values(`jdbc:postgresql://${A},${B},/db`), { host: `${A},${B}`, port: ',', dbname: 'db' })
  })

  it('needs one port per host, as pgjdbc\'s consistency check does', () => {
    refused(`jdbc:postgresql://${A},${B}/db?user=u&port=6432`, /names 2 hosts and 1 port; pgjdbc needs one port per host/)
    refused(`jdbc:postgresql:db?user=u&PGHOST=${A},${B}`, /names 2 hosts and 1 port/)
    assert.deepEqual(targets(settings(`jdbc:postgresql://x/db?user=u&PGHOST=${A},${B}&PGPORT=6432,6433`)), [`${A}|${A}|6432`, `${B}|${B}|6433`])
    refused(`jdbc:postgresql://${A}:5432,${B}:0/db`, /port of address 2 of the JDBC URL is not a port number/)
  })

  it('reads the host-less forms as localhost, as pgjdbc does, and refuses jdbc:postgresql:/ as pgjdbc does', () => {
    assert.deepEqual(targets(settings('jdbc:postgresql:mydb?user=u')), ['localhost|localhost|5432'])
    assert.equal(settings('jdbc:postgresql:mydb?user=u').database, 'mydb')
    assert.deepEqual(targets(settings('jdbc:postgresql://?user=u')), ['localhost|localhost|5432'])
    assert.deepEqual(targets(settings('jdbc:postgresql:///?user=u')), ['localhost|localhost|5432'])
    // The URL names the server: PGHOST does not replace pgjdbc's default.
    assert.deepEqual(targets(settings('jdbc:postgresql:mydb?user=u', { PGHOST: A })), ['localhost|localhost|5432'])
    // A query host replaces it.
    assert.deepEqual(targets(settings(`jdbc:postgresql:mydb?user=u&host=${A}`)), [`${A}|${A}|5432`])
    refused('jdbc:postgresql:/mydb', /single "\/"/)
    refused('jdbc:postgresql:/', /single "\/"/)
  })
})

describe('Npgsql Host', () => {
  it('reads Host lists: a port per entry, the Port keyword for entries without one', () => {
    assert.deepEqual(values(`Host=${A},${B};Port=6432;Username=u`), { host: `${A},${B}`, port: '6432', user: 'u' })
    assert.deepEqual(values(`Host=${A}:5432,${B}:5433;Username=u`), { host: `${A},${B}`, port: '5432,5433', user: 'u' })
    assert.deepEqual(values(`Host=${A}:5433,${B};Port=6432;Username=u`), { host: `${A},${B}`, port: '5433,6432', user: 'u' })
    assert.deepEqual(values(`Port=6432;Host=${A}:5433,${B};Username=u`), { host: `${A},${B}`, port: '5433,6432', user: 'u' })
    assert.deepEqual(values(`Host=${A}:5433,${B};Username=u`), { host: `${A},${B}`, port: '5433,', user: 'u' })
    assert.deepEqual(values(`Host= ${A} , ${B}:5433 ;Username=u`), { host: `${A},${B}`, port: ',5433', user: 'u' })
    assert.deepEqual(targets(settings(`Host=${A}:5433,${B};Port=6432;Username=u`)), [`${A}|${A}|5433`, `${B}|${B}|6432`])
  })

  it('reads bracketed IPv6 hosts, with and without a port', () => {
    assert.deepEqual(values('Host=[::1]:5433;Username=u'), { host: '::1', port: '5433', user: 'u' })
    assert.deepEqual(values('Host=[::1];Username=u'), { host: '::1', user: 'u' })
    assert.deepEqual(values('Host=::1;Username=u'), { host: '::1', user: 'u' })
    assert.deepEqual(values('Host=[::1],[2001:db8::7]:5433;Username=u'), { host: '::1,2001:db8::7', port: ',5433', user: 'u' })
    assert.deepEqual(targets(settings('Host=[::1]:5433;Username=u')), ['::1|::1|5433'])
  })

  it('refuses a port list in Port, a bad port in Host, and a hostile entry', () => {
    refused(`Host=${A},${B};Port=5432,5433;Username=u`, /value of key "Port" is a list; Npgsql's Port is one number/)
    refused(`Host=${A}:x,${B};Username=u`, /port inside entry 1 of the value of key "Host" is not a port number/)
    refused(`Host=${A},Sup3r x.example.com;Username=u`, /entry 2 of the value of key "Host" is not a host name/, 'Sup3r')
    refused(`Server=${A},${B}:+x;Username=u`, /port inside entry 2 of the value of key "Server" is not a port number/)
  })
})

describe('target_session_attrs and load_balance_hosts in every form', () => {
  const tsa = (s: string): string => settings(s).targetSessionAttrs
  const lbh = (s: string): string => settings(s).loadBalanceHosts

  it('libpq key=value and URI: libpq\'s values, exactly', () => {
    for (const v of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']) {
      assert.equal(tsa(`host=${A},${B} user=u target_session_attrs=${v}`), v)
      assert.equal(tsa(`postgresql://u@${A},${B}/db?target_session_attrs=${v}`), v)
    }
    assert.equal(lbh(`host=${A},${B} user=u load_balance_hosts=random`), 'random')
    assert.equal(lbh(`postgresql://u@${A},${B}/db?load_balance_hosts=disable`), 'disable')
    refused(`host=${A} user=u target_session_attrs=Primary`, /target_session_attrs \(from connection string key "target_session_attrs"\) is not one of libpq's values/)
    refused(`host=${A} user=u target_session_attrs=prefer-primary`, /is not one of libpq's values/)
    refused(`host=${A} user=u load_balance_hosts=true`, /load_balance_hosts \(from connection string key "load_balance_hosts"\) is not one of libpq's values/)
  })

  it('pgjdbc targetServerType, mapped to libpq\'s value by what pgjdbc checks', () => {
    const cases: Array<[string, string]> = [
      ['any', 'any'], ['primary', 'read-write'], ['master', 'read-write'], ['secondary', 'read-only'], ['slave', 'read-only'],
      ['preferSecondary', 'prefer-standby'], ['preferSlave', 'prefer-standby'],
    ]
    for (const [jdbc, libpq] of cases) assert.equal(tsa(`jdbc:postgresql://${A},${B}/db?user=u&targetServerType=${jdbc}`), libpq, jdbc)
    for (const v of ['preferPrimary', 'preferMaster']) {
      refused(`jdbc:postgresql://${A},${B}/db?user=u&targetServerType=${v}`, /value of key "targetServerType" asks for a preferred primary, which libpq's target_session_attrs cannot express/)
    }
    for (const v of ['Primary', 'read-write', 'standby', 'Sup3rValue', '']) {
      refused(`jdbc:postgresql://${A}/db?user=u&targetServerType=${v}`, /value of key "targetServerType" is not a pgjdbc targetServerType/, 'Sup3r')
    }
    // libpq's own key is honoured in a JDBC URL too.
    assert.equal(tsa(`jdbc:postgresql://${A},${B}/db?user=u&target_session_attrs=standby`), 'standby')
  })

  it('pgjdbc loadBalanceHosts: true or false, in any case', () => {
    assert.equal(lbh(`jdbc:postgresql://${A},${B}/db?user=u&loadBalanceHosts=true`), 'random')
    assert.equal(lbh(`jdbc:postgresql://${A},${B}/db?user=u&loadBalanceHosts=TRUE`), 'random')
    assert.equal(lbh(`jdbc:postgresql://${A},${B}/db?user=u&loadBalanceHosts=false`), 'disable')
    refused(`jdbc:postgresql://${A},${B}/db?user=u&loadBalanceHosts=yes`, /value of key "loadBalanceHosts" is neither true nor false/)
  })

  it('Npgsql Target Session Attributes (any case) and Load Balance Hosts', () => {
    const cases: Array<[string, string]> = [
      ['Any', 'any'], ['primary', 'primary'], ['Standby', 'standby'], ['prefer-standby', 'prefer-standby'],
      ['Read-Write', 'read-write'], ['read-only', 'read-only'],
    ]
    for (const [npgsql, libpq] of cases) assert.equal(tsa(`Host=${A},${B};Username=u;Target Session Attributes=${npgsql}`), libpq, npgsql)
    assert.equal(tsa(`Host=${A},${B};Username=u;TargetSessionAttributes=standby`), 'standby')
    refused(`Host=${A},${B};Username=u;Target Session Attributes=prefer-primary`, /value of key "Target Session Attributes" asks for a preferred primary/)
    refused(`Host=${A},${B};Username=u;Target Session Attributes=preferSecondary`, /value of key "Target Session Attributes" is not an Npgsql Target Session Attributes value/)
    assert.equal(lbh(`Host=${A},${B};Username=u;Load Balance Hosts=True`), 'random')
    assert.equal(lbh(`Host=${A},${B};Username=u;LoadBalanceHosts=false`), 'disable')
    refused(`Host=${A},${B};Username=u;Load Balance Hosts=1`, /value of key "Load Balance Hosts" is neither true nor false/)
  })

  it('are no longer reported as ignored keys', () => {
    for (const s of [`host=${A} user=u target_session_attrs=any load_balance_hosts=disable`, `jdbc:postgresql://${A}/db?user=u&targetServerType=any&loadBalanceHosts=false`,
      `Host=${A};Username=u;Target Session Attributes=any;Load Balance Hosts=false`]) {
      assert.deepEqual(settings(s).warnings, [], s)
    }
  })

  it('keep the precedence option > connection string > environment string > variable', () => {
    const env = { PGTARGETSESSIONATTRS: 'standby', PGLOADBALANCEHOSTS: 'random' }
    const fromVar = resolveSettings({ host: [A, B], user: 'u' }, env)
    assert.deepEqual([fromVar.targetSessionAttrs, fromVar.loadBalanceHosts], ['standby', 'random'])
    const fromEnvString = resolveSettings({}, { ...env, DATABASE_URL: `postgresql://u@${A},${B}/db?target_session_attrs=read-only` })
    assert.deepEqual([fromEnvString.targetSessionAttrs, fromEnvString.loadBalanceHosts], ['read-only', 'random'])
    const fromString = resolveSettings({ connectionString: `postgresql://u@${A},${B}/db?target_session_attrs=primary&load_balance_hosts=disable` }, env)
    assert.deepEqual([fromString.targetSessionAttrs, fromString.loadBalanceHosts], ['primary', 'disable'])
    const fromOption = resolveSettings({ connectionString: `postgresql://u@${A},${B}/db?target_session_attrs=primary`, target_session_attrs: 'prefer-standby' }, env)
    assert.equal(fromOption.targetSessionAttrs, 'prefer-standby')
  })
})

describe('environment strings and variables', () => {
  it('reads a multi-host DATABASE_URL and a Service Connector ADO.NET string', () => {
    assert.deepEqual(targets(resolveSettings({}, { DATABASE_URL: `postgresql://u@${A}:5432,${B}:6432/db` })), [`${A}|${A}|5432`, `${B}|${B}|6432`])
    assert.deepEqual(targets(resolveSettings({}, { AZURE_POSTGRESQL_CONNECTIONSTRING: `Server=${A},${B};Database=db;Port=5432;User Id=u;Ssl Mode=Require;` })),
      [`${A}|${A}|5432`, `${B}|${B}|5432`])
  })

  it('reads a list in Service Connector\'s AZURE_POSTGRESQL_HOST like PGHOST', () => {
    assert.deepEqual(targets(resolveSettings({}, { AZURE_POSTGRESQL_HOST: `${A},${B}`, AZURE_POSTGRESQL_USER: 'u', AZURE_POSTGRESQL_PORT: '5432,6432' })),
      [`${A}|${A}|5432`, `${B}|${B}|6432`])
  })

  it('names the variable of a bad list', () => {
    const err = expectAzureErrorSync(() => resolveSettings({}, { DATABASE_URL: `postgresql://u@${A},${B}/db?port=1,2,3` }), 'INVALID_CONFIG')
    assert.match(err.message, /key "port" of environment variable DATABASE_URL/)
  })
})

describe('Azure naming per host, from strings', () => {
  it('names the Single Server login per server', () => {
    const s = resolveSettings({ connectionString: `Host=${A},${B};Username=alice`, serverType: 'single' }, {})
    assert.deepEqual(s.hosts.map((h) => h.user), ['alice@srva', 'alice@srvb'])
  })

  it('refuses a user@server naming one server of the list', () => {
    expectAzureErrorSync(() => settings(`postgresql://alice%40srva@${A},${B}/db`), 'USER_SERVER_MISMATCH')
    expectAzureErrorSync(() => settings(`jdbc:postgresql://${A},${B}/db?user=alice@srvb`), 'USER_SERVER_MISMATCH')
  })
})
