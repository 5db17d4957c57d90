// The host list (issue 22): host, hostaddr and port as lists paired by libpq's rules, per-host naming and
// TLS names, target_session_attrs and load_balance_hosts against libpq 16's allow-lists, and the refusals
// that keep a multi-host configuration away from plain pg (resolveAzurePgConfig).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { prepare } from '../../src/connect/prepare.js'
import { resolveSettings, type Settings } from '../../src/config/resolve.js'
import { resolveAzurePgConfig } from '../../src/index.js'
import type { AzurePgOptions } from '../../src/options.js'
import { errorText, expectAzureError, expectAzureErrorSync } from '../support/assert-error.js'

const A = 'srva.postgres.database.azure.com'
const B = 'srvb.postgres.database.azure.com'

function settings(options: AzurePgOptions, env: Record<string, string> = {}): Settings {
  return resolveSettings({ user: 'alice', ...options }, env)
}

/** The per-host fields a test compares, as plain objects. */
const targets = (s: Settings): Array<Record<string, unknown>> => s.hosts.map((h) => ({ host: h.host, connectHost: h.connectHost, port: h.port }))

describe('host list from options', () => {
  it('takes an array, or a comma list, in order', () => {
    const expected = [{ host: A, connectHost: A, port: 5432 }, { host: B, connectHost: B, port: 5432 }]
    assert.deepEqual(targets(settings({ host: [A, B] })), expected)
    assert.deepEqual(targets(settings({ host: `${A},${B}` })), expected)
    const s = settings({ host: [A, B] })
    // The single-host fields describe hosts[0].
    assert.deepEqual([s.host, s.connectHost, s.port, s.user], [A, A, 5432, 'alice'])
  })

  it('keeps one host as one entry', () => {
    assert.deepEqual(targets(settings({ host: A })), [{ host: A, connectHost: A, port: 5432 }])
    assert.deepEqual(targets(settings({ host: [A] })), [{ host: A, connectHost: A, port: 5432 }])
  })

  it('pairs ports as libpq: one for all, or one per host, an empty entry meaning 5432', () => {
    assert.deepEqual(targets(settings({ host: [A, B], port: 6432 })).map((t) => t['port']), [6432, 6432])
    assert.deepEqual(targets(settings({ host: [A, B], port: '6432' })).map((t) => t['port']), [6432, 6432])
    assert.deepEqual(targets(settings({ host: [A, B], port: '6432,5433' })).map((t) => t['port']), [6432, 5433])
    assert.deepEqual(targets(settings({ host: [A, B], port: [6432, '5433'] })).map((t) => t['port']), [6432, 5433])
    assert.deepEqual(targets(settings({ host: [A, B], port: ',5433' })).map((t) => t['port']), [5432, 5433])
    assert.deepEqual(targets(settings({ host: [A, B], port: ' 6432 , 5433' })).map((t) => t['port']), [6432, 5433])
  })

  it('refuses a port list whose length is neither 1 nor the number of hosts', () => {
    const err = expectAzureErrorSync(() => settings({ host: [A, B], port: '1,2,3' }), 'INVALID_CONFIG')
    assert.match(err.message, /port \(from option "port"\) has 3 entries for 2 servers/)
    expectAzureErrorSync(() => settings({ host: A, port: [5432, 5433] }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => settings({ host: A, port: '5432,' }), 'INVALID_CONFIG')
  })

  it('refuses a bad port entry, naming its position', () => {
    const err = expectAzureErrorSync(() => settings({ host: [A, B], port: '5432,70000' }), 'INVALID_CONFIG')
    assert.match(err.message, /entry 2 of port \(from option "port"\) is not a port number/)
    expectAzureErrorSync(() => settings({ host: [A, B], port: '5432,x' }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => settings({ host: [A, B], port: [5432, 1.5] }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => settings({ host: [A, B], port: [5432, '0'] }), 'INVALID_CONFIG')
  })

  it('pairs hostaddr by position: each host verified by its name, reached at its address', () => {
    const s = settings({ host: [A, B], hostaddr: ['10.0.0.1', '10.0.0.2'] })
    assert.deepEqual(targets(s), [{ host: A, connectHost: '10.0.0.1', port: 5432 }, { host: B, connectHost: '10.0.0.2', port: 5432 }])
    assert.deepEqual(s.hosts.map((h) => h.servername), [A, B])
    // An empty address entry: that host is looked up by name.
    assert.deepEqual(targets(settings({ host: `${A},${B}`, hostaddr: ',10.0.0.2' })), [{ host: A, connectHost: A, port: 5432 }, { host: B, connectHost: '10.0.0.2', port: 5432 }])
    // An empty host entry: the address is the name, checked against the certificate's IP SANs.
    const ip = settings({ host: `${A},`, hostaddr: '10.0.0.1,10.0.0.2' })
    assert.deepEqual(targets(ip), [{ host: A, connectHost: '10.0.0.1', port: 5432 }, { host: '10.0.0.2', connectHost: '10.0.0.2', port: 5432 }])
    assert.deepEqual(ip.hosts.map((h) => h.servername), [A, undefined])
    // hostaddr alone sets the number of servers.
    assert.deepEqual(targets(settings({ hostaddr: ['10.0.0.1', '::1'], port: '1,2' })), [{ host: '10.0.0.1', connectHost: '10.0.0.1', port: 1 }, { host: '::1', connectHost: '::1', port: 2 }])
  })

  it('refuses host and hostaddr lists of different lengths, and an address that is not an IP', () => {
    const err = expectAzureErrorSync(() => settings({ host: [A, B], hostaddr: '10.0.0.1' }), 'INVALID_CONFIG')
    assert.match(err.message, /host \(from option "host"\) names 2 servers and hostaddr \(from option "hostaddr"\) 1 address/)
    expectAzureErrorSync(() => settings({ host: A, hostaddr: ['10.0.0.1', '10.0.0.2'] }), 'INVALID_CONFIG')
    const bad = expectAzureErrorSync(() => settings({ host: [A, B], hostaddr: ['10.0.0.1', 'srv.example.com'] }), 'INVALID_CONFIG')
    assert.match(bad.message, /entry 2 of hostaddr \(from option "hostaddr"\) is not an IP address/)
  })

  it('refuses an empty host entry with no address (libpq would take a Unix socket)', () => {
    const err = expectAzureErrorSync(() => settings({ host: `${A},` }), 'INVALID_CONFIG')
    assert.match(err.message, /entry 2 of host \(from option "host"\) is empty/)
    expectAzureErrorSync(() => settings({ host: ['', B] }), 'INVALID_CONFIG')
  })

  it('refuses more than 16 hosts, and accepts 16', () => {
    const names = Array.from({ length: 17 }, (_, i) => `s${i}.example.com`)
    const err = expectAzureErrorSync(() => settings({ host: names }), 'INVALID_CONFIG')
    assert.match(err.message, /names 17 entries; azure-pg-tls tries at most 16 servers/)
    assert.equal(settings({ host: names.slice(0, 16) }).hosts.length, 16)
    expectAzureErrorSync(() => settings({ host: A, hostaddr: Array.from({ length: 17 }, () => '10.0.0.1') }), 'INVALID_CONFIG')
  })

  it('refuses hostile host entries without repeating them', () => {
    for (const hostile of ['a b.example.com', 'evil\n.example.com', '-x.example.com', 'x.example.com;rm', '"q".example.com', ' ']) {
      const err = expectAzureErrorSync(() => settings({ host: [A, hostile] }), 'INVALID_CONFIG')
      assert.match(err.message, /host 2 of 2|entry 2 of host/)
      if (hostile.trim() !== '') assert.ok(!errorText(err).includes(hostile), JSON.stringify(hostile))
    }
    // An entry of an array that holds a comma would silently become two hosts.
    expectAzureErrorSync(() => settings({ host: [A, `${B},evil.example.com`] }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => settings({ host: [A, 5 as unknown as string] }), 'INVALID_CONFIG')
    expectAzureErrorSync(() => settings({ host: { 0: A } as unknown as string }), 'INVALID_CONFIG')
  })

  it('refuses a Unix-socket path anywhere in the list (no TLS)', () => {
    expectAzureErrorSync(() => settings({ host: [A, '/var/run/postgresql'] }), 'INSECURE_TLS')
  })

  it('reads PGHOST, PGPORT and PGHOSTADDR lists', () => {
    const s = settings({}, { PGHOST: `${A},${B}`, PGPORT: '5432,6432', PGHOSTADDR: '10.0.0.1,' })
    assert.deepEqual(targets(s), [{ host: A, connectHost: '10.0.0.1', port: 5432 }, { host: B, connectHost: B, port: 6432 }])
    const err = expectAzureErrorSync(() => settings({}, { PGHOST: `${A},${B}`, PGPORT: '1,2,3' }), 'INVALID_CONFIG')
    assert.match(err.message, /environment variable PGPORT/)
  })

  it('pairs an option host list with a port from the environment, as libpq fills gaps', () => {
    assert.deepEqual(targets(settings({ host: [A, B] }, { PGPORT: '6432' })).map((t) => t['port']), [6432, 6432])
  })
})

describe('Azure naming per host', () => {
  it('names the Single Server login per server: user@a for a, user@b for b', () => {
    const s = settings({ host: [A, B], serverType: 'single' })
    assert.deepEqual(s.hosts.map((h) => [h.user, h.serverName]), [['alice@srva', 'srva'], ['alice@srvb', 'srvb']])
    assert.equal(s.user, 'alice@srva')
  })

  it('sends the user as given on Flexible Server, and classifies each host', () => {
    const s = settings({ host: [A, 'replica.example.com'] })
    assert.deepEqual(s.hosts.map((h) => h.user), ['alice', 'alice'])
    assert.deepEqual(s.hosts.map((h) => h.azure?.serverName), ['srva', undefined])
  })

  it('refuses a user@server that names another server than one of the hosts', () => {
    const err = expectAzureErrorSync(() => settings({ host: [A, B], user: 'alice@srva' }), 'USER_SERVER_MISMATCH')
    assert.match(err.message, /server "srvb"/)
  })

  it('applies serverName to hosts outside Azure names, and refuses it against a differing Azure host', () => {
    const s = settings({ host: ['p.example.com', 'r.example.com'], serverName: 'mysrv', serverType: 'single' })
    assert.deepEqual(s.hosts.map((h) => h.user), ['alice@mysrv', 'alice@mysrv'])
    const err = expectAzureErrorSync(() => settings({ host: ['p.example.com', B], serverName: 'mysrv' }), 'INVALID_CONFIG')
    assert.match(err.message, /host 2 of 2/)
  })

  it('refuses serverType single when any host is a Cosmos DB cluster', () => {
    const err = expectAzureErrorSync(() => settings({ host: [A, 'c-x.abc.postgres.cosmos.azure.com'], serverType: 'single' }), 'INVALID_CONFIG')
    assert.match(err.message, /Host 2 of 2/)
  })

  it('refuses Entra with hosts whose token scopes differ, unless entraScope is given', () => {
    expectAzureErrorSync(() => resolveSettings({ host: [A, 'x.postgres.database.usgovcloudapi.net'], entra: true }, {}), 'INVALID_CONFIG')
    const s = resolveSettings({ host: [A, 'x.postgres.database.usgovcloudapi.net'], entra: true, entraScope: 'https://ossrdbms-aad.database.windows.net/.default' }, {})
    assert.equal(s.hosts.length, 2)
    assert.equal(resolveSettings({ host: [A, B], entra: true }, {}).entra?.scope, 'https://ossrdbms-aad.database.windows.net/.default')
  })

  it('checks ssl.servername against every host', () => {
    expectAzureErrorSync(() => settings({ host: [A, B], ssl: { servername: A } }), 'INVALID_CONFIG')
  })
})

describe('target_session_attrs and load_balance_hosts', () => {
  it('default to any and disable', () => {
    const s = settings({ host: A })
    assert.deepEqual([s.targetSessionAttrs, s.loadBalanceHosts], ['any', 'disable'])
  })

  it('take every libpq 16 value from the option and the environment', () => {
    for (const v of ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const) {
      assert.equal(settings({ host: A, target_session_attrs: v }).targetSessionAttrs, v)
      assert.equal(settings({ host: A }, { PGTARGETSESSIONATTRS: v }).targetSessionAttrs, v)
    }
    for (const v of ['disable', 'random'] as const) {
      assert.equal(settings({ host: A, load_balance_hosts: v }).loadBalanceHosts, v)
      assert.equal(settings({ host: A }, { PGLOADBALANCEHOSTS: v }).loadBalanceHosts, v)
    }
  })

  it('takes the option over the environment', () => {
    const s = settings({ host: A, target_session_attrs: 'standby', load_balance_hosts: 'disable' }, { PGTARGETSESSIONATTRS: 'primary', PGLOADBALANCEHOSTS: 'random' })
    assert.deepEqual([s.targetSessionAttrs, s.loadBalanceHosts], ['standby', 'disable'])
  })

  it('refuses other spellings, as libpq compares exactly, without repeating them', () => {
    for (const bad of ['Primary', 'read_write', 'readwrite', ' any', 'prefer-primary', 'master', 'secondary', 'preferSecondary', '']) {
      const err = expectAzureErrorSync(() => settings({ host: A, target_session_attrs: bad as 'any' }), 'INVALID_CONFIG')
      assert.match(err.message, /target_session_attrs \(from option "target_session_attrs"\) is not one of libpq's values/)
    }
    for (const bad of ['Random', 'true', 'false', 'on', '']) {
      const err = expectAzureErrorSync(() => settings({ host: A }, { PGLOADBALANCEHOSTS: bad === '' ? 'x' : bad }), 'INVALID_CONFIG')
      assert.match(err.message, /load_balance_hosts \(from environment variable PGLOADBALANCEHOSTS\)/)
    }
    expectAzureErrorSync(() => settings({ host: A, load_balance_hosts: true as unknown as 'random' }), 'INVALID_CONFIG')
  })
})

describe('preparing a host list', () => {
  it('prepare gives each server its own login name and the context its failures are explained with', async () => {
    const p = await prepare(settings({ host: [A, B], hostaddr: ['10.1.0.4', ''], port: [5432, 6432], serverType: 'single', certs: { source: 'bundled' } }))
    assert.deepEqual(p.hosts.map((h) => [h.user, h.context.host, h.context.connectHost, h.context.port, h.context.user]), [
      ['alice@srva', A, '10.1.0.4', 5432, 'alice@srva'],
      ['alice@srvb', B, B, 6432, 'alice@srvb'],
    ])
  })

  it('resolveAzurePgConfig refuses a host list and a session requirement, pointing to the SDK client and pool', async () => {
    const base = { env: {}, certs: { source: 'bundled' as const }, user: 'alice' }
    const err = await expectAzureError(() => resolveAzurePgConfig({ ...base, host: [A, B] }), 'INVALID_CONFIG')
    assert.match(err.message, /names 2 hosts/)
    assert.match(err.hint, /createAzurePgClient or createAzurePgPool/)
    const tsa = await expectAzureError(() => resolveAzurePgConfig({ ...base, host: A, target_session_attrs: 'primary' }), 'INVALID_CONFIG')
    assert.match(tsa.message, /target_session_attrs "primary"/)
    assert.equal((await resolveAzurePgConfig({ ...base, host: A })).host, A)
  })
})
