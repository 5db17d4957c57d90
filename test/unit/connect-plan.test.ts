// The pure parts of connecting, without a server: what prepare() builds from settings, what
// planConnection() adds per connection (the shared context, the guard's own identity check, the
// negotiation and key share learned), what is learned and kept about servers (learned-facts), and
// how a pg Connection is driven with it (adaptive-connect, with a stand-in Connection).
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls'
import { resolveSettings } from '../../src/config/resolve.js'
import { chooseNegotiation, groupsFor, installAdaptiveConnect, whenSecure, type AdaptivePlan, type PgConnection } from '../../src/connect/adaptive-connect.js'
import { planConnection } from '../../src/connect/connection-plan.js'
import { DEFAULT_GROUPS, FACTS_TTL_MS, forgetLearnedFacts, LearnedFacts, learnedFacts, type ServerFacts } from '../../src/connect/learned-facts.js'
import { prepare, withHiddenPassword, type AzurePgClientConfig } from '../../src/connect/prepare.js'
import { isSdkContext } from '../../src/connect/tls-context.js'
import { expectationOf } from '../../src/connect/tls-guard.js'
import { AzurePgError } from '../../src/errors.js'
import type { AzurePgOptions } from '../../src/options.js'
import { tempDirs } from '../support/temp-dir.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const PEM = rootCertificates[0] as string
const newDir = tempDirs('connect-plan')

async function prepared(options: AzurePgOptions = {}): ReturnType<typeof prepare> {
  const settings = resolveSettings({ host: HOST, user: 'app', password: 'S3cret-pw', sslrootcert: undefined, ssl: { ca: [PEM] }, learn: 'off', ...options }, {})
  return prepare(settings)
}

/** A certificate for `name`, as Node's checkServerIdentity reads one. */
function certFor(name: string): PeerCertificate {
  return { subject: { CN: name }, subjectaltname: `DNS:${name}` } as unknown as PeerCertificate
}

describe('prepare', () => {
  it('builds verifying TLS options: the roots, rejectUnauthorized, TLS 1.2 at least, negotiation postgres for auto', async () => {
    const p = await prepared()
    assert.deepEqual(p.config.ssl.ca, [PEM])
    assert.equal(p.config.ssl.rejectUnauthorized, true)
    assert.equal(p.config.ssl.minVersion, 'TLSv1.2')
    assert.equal(p.config.ssl.checkServerIdentity, undefined)
    assert.equal(p.config.host, HOST)
    assert.equal(p.config.port, 5432)
    assert.equal(p.config.user, 'app')
    assert.equal(p.config.password, 'S3cret-pw')
    assert.equal((p.config as { sslnegotiation?: string }).sslnegotiation, 'postgres')
    assert.ok(Object.isFrozen(p.ssl))
    assert.deepEqual({ ...p.ssl }, { ...p.config.ssl })
    assert.notEqual(p.ssl, p.config.ssl as unknown)
    assert.deepEqual(p.secrets(), ['S3cret-pw'])
    assert.equal(p.facts, undefined)
    assert.match(p.trustKey, /^[0-9a-f]{64}$/)
    assert.equal(p.context.host, HOST)
    assert.equal(p.context.entra, false)
  })

  it('keeps TLS 1.3 as the lowest version, and direct negotiation as given', async () => {
    const p = await prepared({ ssl: { ca: [PEM], minVersion: 'TLSv1.3' }, sslnegotiation: 'direct' })
    assert.equal(p.config.ssl.minVersion, 'TLSv1.3')
    assert.equal((p.config as { sslnegotiation?: string }).sslnegotiation, 'direct')
  })

  it('for an IP-literal host reached through another address, checks the certificate against the host', async () => {
    const p = await prepared({ host: '10.1.2.3', hostaddr: '127.0.0.1' })
    // pg is given the host as named (what tracing reports); hostaddr says where the socket goes.
    assert.deepEqual([p.config.host, p.config.hostaddr], ['10.1.2.3', '127.0.0.1'])
    const check = p.config.ssl.checkServerIdentity
    assert.equal(typeof check, 'function')
    assert.doesNotThrow(() => expectationOf(p.config))
    const ipCert = { subject: { CN: 'x' }, subjectaltname: 'IP Address:10.1.2.3' } as unknown as PeerCertificate
    assert.equal(check?.('127.0.0.1', ipCert), undefined)
    assert.ok(check?.('10.1.2.3', certFor('other.example.com')) instanceof Error)
  })

  it('sets no identity check of its own when a servername is given, or the host is where the socket goes', async () => {
    const named = await prepared({ ssl: { ca: [PEM], servername: HOST }, hostaddr: '127.0.0.1' })
    assert.equal(named.config.ssl.checkServerIdentity, undefined)
    assert.equal(named.config.ssl.servername, HOST)
  })

  it('remembers the answers of a password function as secrets', async () => {
    let n = 0
    const p = await prepared({ password: async () => `answer-${++n}` })
    assert.deepEqual(p.secrets(), [])
    const password = p.config.password as () => Promise<string>
    assert.equal(await password(), 'answer-1')
    assert.deepEqual(p.secrets(), ['answer-1'])
    assert.equal(await password(), 'answer-2')
    assert.deepEqual(p.secrets(), ['answer-2'])
  })

  it('hides the password of a copy from enumeration, and keeps it readable and writable', () => {
    const copy = withHiddenPassword({ host: HOST, password: 'pw' })
    assert.equal(copy.password, 'pw')
    assert.deepEqual(Object.keys(copy), ['host'])
    copy.password = 'other'
    assert.equal(copy.password, 'other')
    assert.deepEqual(Object.keys(withHiddenPassword({ host: HOST })), ['host'])
    assert.equal(Object.hasOwn(withHiddenPassword({ host: HOST }), 'password'), false)
  })
})

describe('planConnection', () => {
  it("gives each connection frozen TLS options with the SDK's context and identity check, and nothing inherited", async () => {
    const p = await prepared({ sslnegotiation: 'auto' })
    const { config, plan } = planConnection(p, withHiddenPassword(p.config))
    const ssl = config.ssl as unknown as Record<string, unknown>
    assert.ok(Object.isFrozen(ssl))
    assert.ok(isSdkContext(ssl['secureContext']))
    assert.equal(ssl['checkServerIdentity'], checkServerIdentity)
    assert.equal(ssl['rejectUnauthorized'], true)
    assert.equal(ssl['minVersion'], 'TLSv1.2')
    assert.equal(ssl['enableTrace'], false)
    assert.equal(ssl['servername'], HOST)
    for (const key of ['session', 'pskCallback']) {
      assert.ok(Object.hasOwn(ssl, key), key)
      assert.equal(ssl[key], undefined, key)
    }
    assert.ok(Object.isFrozen(ssl['ca']))
    assert.deepEqual(ssl['ca'], [PEM])
    // P-256 first (PostgreSQL up to 17 and Azure offer only it), then Node's default order.
    assert.equal(ssl['ecdhCurve'], 'P-256:X25519:X448:P-521:P-384')
    assert.equal(config.password, 'S3cret-pw')
    assert.equal(config.host, HOST)
    assert.equal((config as { sslnegotiation?: string }).sslnegotiation, 'postgres')
    assert.deepEqual({ ...plan, facts: undefined }, {
      negotiation: 'postgres', fallback: true, key: `${p.trustKey.slice(0, 16)}|${HOST}/${HOST}:5432`, host: HOST, address: HOST, facts: undefined, firstGroup: 'P-256', learnGroup: true,
    })
    // The same context for the next connection of the same trust set.
    assert.equal((planConnection(p, p.config).config.ssl as unknown as Record<string, unknown>)['secureContext'], ssl['secureContext'])
    // The guard accepts what the plan gives pg.
    assert.doesNotThrow(() => expectationOf(config))
  })

  it('keeps a servername, and the lowest and highest versions and ciphers given', async () => {
    const p = await prepared({ ssl: { ca: [PEM], servername: HOST, maxVersion: 'TLSv1.3', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, sslnegotiation: 'direct' })
    const { config, plan } = planConnection(p, p.config)
    const ssl = config.ssl as unknown as Record<string, unknown>
    assert.equal(ssl['servername'], HOST)
    assert.equal(ssl['maxVersion'], 'TLSv1.3')
    assert.match(String(ssl['ciphers']), /^ECDHE-RSA-AES128-GCM-SHA256:/)
    assert.equal(ssl['ciphers'], p.config.ssl.ciphers)
    assert.equal(plan.negotiation, 'direct')
    assert.equal(plan.fallback, false)
    assert.equal((config as { sslnegotiation?: string }).sslnegotiation, 'direct')
  })

  it('offers the groups the user set, first one first, and learns none', async () => {
    const p = await prepared({ ssl: { ca: [PEM], ecdhCurve: 'P-256:X25519' } })
    const { config, plan } = planConnection(p, p.config)
    assert.equal((config.ssl as unknown as Record<string, unknown>)['ecdhCurve'], 'P-256:X25519')
    assert.equal(plan.firstGroup, 'P-256')
    assert.equal(plan.learnGroup, false)
  })

  it('offers the group learned for the server first, and direct TLS to a server known to take it', async () => {
    const base = await prepared({ sslnegotiation: 'auto' })
    const facts = new LearnedFacts(new Map(), undefined, () => 1_000)
    const p = { ...base, facts }
    const key = `${p.trustKey.slice(0, 16)}|${HOST}/${HOST}:5432`
    facts.record(key, { direct: true, group: 'P-384' })
    const { config, plan } = planConnection(p, p.config)
    assert.equal((config.ssl as unknown as Record<string, unknown>)['ecdhCurve'], 'P-384:X25519:P-256:X448:P-521')
    assert.equal(plan.firstGroup, 'P-384')
    assert.equal(plan.negotiation, 'direct')
    assert.equal(plan.facts, facts)
    assert.equal((config as { sslnegotiation?: string }).sslnegotiation, 'direct')
  })

  it('refuses a configuration whose TLS options were changed after prepare', async () => {
    const p = await prepared()
    const changed = { ...p.config, ssl: { ...p.config.ssl, rejectUnauthorized: false } } as unknown as AzurePgClientConfig
    assert.throws(() => planConnection(p, changed), (e: unknown) => e instanceof AzurePgError && e.code === 'INSECURE_TLS')
  })
})

describe('learned facts', () => {
  it('forgets a fact once it is a day old', () => {
    let now = 10_000
    const facts = new LearnedFacts(new Map([['k', { direct: true, at: now }]]), undefined, () => now)
    now += FACTS_TTL_MS - 1
    assert.deepEqual(facts.get('k'), { direct: true, at: 10_000 })
    now += 1
    assert.equal(facts.get('k'), undefined)
    now -= 1
    assert.equal(facts.get('k'), undefined, 'deleted, not only hidden')
    assert.equal(facts.get('other'), undefined)
  })

  it('merges what it learns; a refusal of direct TLS outranks a version report', () => {
    let now = 5
    const facts = new LearnedFacts(new Map(), undefined, () => now)
    facts.record('k', { group: 'P-256' })
    assert.deepEqual(facts.get('k'), { group: 'P-256', at: 5 })
    now = 6
    facts.record('k', { direct: true })
    assert.deepEqual(facts.get('k'), { direct: true, group: 'P-256', at: 6 })
    now = 7
    facts.record('k', { direct: false })
    assert.deepEqual(facts.get('k'), { direct: false, group: 'P-256', at: 7 })
    now = 8
    facts.record('k', { direct: true })
    assert.deepEqual(facts.get('k'), { direct: false, group: 'P-256', at: 7 }, 'nothing new: not even the time changes')
    facts.record('k', { group: 'P-384' })
    assert.deepEqual(facts.get('k'), { direct: false, group: 'P-384', at: 8 })
  })

  it('keeps facts in a file of the cache folder, and reads back only fresh and well-formed ones', async () => {
    const dir = await newDir()
    const t0 = Date.UTC(2026, 0, 1)
    forgetLearnedFacts()
    const store = await learnedFacts('disk', dir, () => new Date(t0))
    assert.ok(store)
    store.record('a', { direct: true })
    store.record('b', { group: 'P-521' })
    await store.flushed()
    const written = JSON.parse(await readFile(join(dir, 'learned-servers.json'), 'utf8')) as unknown
    assert.deepEqual(written, { version: 1, servers: { a: { direct: true, at: t0 }, b: { group: 'P-521', at: t0 } } })
    assert.equal(await learnedFacts('disk', dir, () => new Date(t0)), store, 'one store per folder')

    const servers: Record<string, unknown> = {
      fresh: { direct: false, group: 'X448', at: t0 - 1000 },
      old: { direct: true, at: t0 - FACTS_TTL_MS },
      future: { direct: true, at: t0 + 1 },
      badGroup: { group: 'secp192r1', at: t0 },
      groupNotString: { group: 1, at: t0 },
      directNotBoolean: { direct: 'yes', at: t0 },
      noTime: { direct: true },
      timeString: { direct: true, at: String(t0) },
      notObject: 'direct',
      nothing: null,
    }
    await writeFile(join(dir, 'learned-servers.json'), JSON.stringify({ version: 1, servers }))
    forgetLearnedFacts()
    const read = await learnedFacts('disk', dir, () => new Date(t0))
    assert.ok(read)
    assert.notEqual(read, store)
    assert.deepEqual(read.get('fresh'), servers['fresh'])
    for (const key of Object.keys(servers).filter((k) => k !== 'fresh')) assert.equal(read.get(key), undefined, key)
  })

  it('reads a file of another version, without servers, corrupt, or a folder as empty', async () => {
    const t0 = Date.UTC(2026, 0, 1)
    const entry = { a: { direct: true, at: t0 } }
    for (const content of [JSON.stringify({ version: 2, servers: entry }), JSON.stringify({ servers: entry }), JSON.stringify({ version: 1 }),
      JSON.stringify({ version: 1, servers: null }), JSON.stringify({ version: 1, servers: 'a' }), 'null', '{"version":1,"servers":{"a":', undefined]) {
      const dir = await newDir()
      if (content === undefined) await mkdir(join(dir, 'learned-servers.json'))
      else await writeFile(join(dir, 'learned-servers.json'), content)
      forgetLearnedFacts()
      const read = await learnedFacts('disk', dir, () => new Date(t0))
      assert.equal(read?.get('a'), undefined, String(content))
    }
  })

  it('learns nothing with off, and in memory only with memory', async () => {
    assert.equal(await learnedFacts('off', '/nonexistent', () => new Date()), undefined)
    const memory = await learnedFacts('memory', '/nonexistent', () => new Date())
    assert.ok(memory)
    assert.equal(await learnedFacts('memory', '/other', () => new Date()), memory)
  })
})

describe('adaptive connect: choices', () => {
  const facts = (f: Omit<ServerFacts, 'at'>): LearnedFacts => new LearnedFacts(new Map([['k', { ...f, at: 0 }]]), undefined, () => 1)
  it("keeps libpq's fixed negotiations, and takes direct TLS in auto only for a server known to take it", () => {
    assert.equal(chooseNegotiation('postgres', facts({ direct: true }), 'k'), 'postgres')
    assert.equal(chooseNegotiation('direct', facts({ direct: false }), 'k'), 'direct')
    assert.equal(chooseNegotiation('direct', undefined, 'k'), 'direct')
    assert.equal(chooseNegotiation('auto', facts({ direct: true }), 'k'), 'direct')
    assert.equal(chooseNegotiation('auto', facts({ direct: false }), 'k'), 'postgres')
    assert.equal(chooseNegotiation('auto', facts({}), 'k'), 'postgres')
    assert.equal(chooseNegotiation('auto', facts({ direct: true }), 'other'), 'postgres')
    assert.equal(chooseNegotiation('auto', undefined, 'k'), 'postgres')
  })
  it("offers a learned group first, then Node's others in order; P-256 first when nothing is learned", () => {
    assert.deepEqual(DEFAULT_GROUPS, ['X25519', 'P-256', 'X448', 'P-521', 'P-384'])
    assert.equal(groupsFor(facts({ group: 'X448' }), 'k'), 'X448:X25519:P-256:P-521:P-384')
    assert.equal(groupsFor(facts({ group: 'X25519' }), 'k'), 'X25519:P-256:X448:P-521:P-384')
    assert.equal(groupsFor(facts({}), 'k'), 'P-256:X25519:X448:P-521:P-384')
    assert.equal(groupsFor(undefined, 'k'), 'P-256:X25519:X448:P-521:P-384')
  })
})

/** A stand-in for pg's Connection: records connect() and requestSsl() calls. */
class FakeConnection extends EventEmitter {
  stream: unknown = undefined
  ssl: unknown = {}
  sslNegotiation = 'postgres'
  readonly calls: string[] = []
  connect(port: unknown, host: unknown): void {
    this.calls.push(`connect ${String(host)}:${String(port)}`)
  }
  requestSsl(): void {
    this.calls.push('requestSsl')
  }
  attachListeners(): void {
    this.calls.push('attachListeners')
  }
}

describe('adaptive connect: installed on a Connection', () => {
  const plan = (facts: LearnedFacts | undefined, over: Partial<AdaptivePlan> = {}): AdaptivePlan =>
    ({ negotiation: 'postgres', fallback: true, key: 'k', host: 'not-named-here.invalid', address: '127.0.0.1', facts, firstGroup: 'X25519', learnGroup: true, ...over })

  it('learns direct TLS from a server that reports version 17 or newer, and nothing from older or other reports', () => {
    for (const [name, value, learned] of [['server_version', '17.2', true], ['server_version', '18beta1', true], ['server_version', '16.4', undefined],
      ['server_version', undefined, undefined], ['server_version', 'x', undefined], ['client_encoding', '18', undefined]] as const) {
      const facts = new LearnedFacts(new Map(), undefined, () => 1)
      const con = new FakeConnection()
      installAdaptiveConnect(con as unknown as PgConnection, plan(facts))
      con.emit('parameterStatus', { parameterName: name, parameterValue: value })
      assert.equal(facts.get('k')?.direct, learned, `${name}=${String(value)}`)
    }
  })

  it('learns the group a server chose when it is not the first offered, once the handshake is done', () => {
    for (const [keyInfo, learnGroup, learned] of [[{ name: 'prime256v1' }, true, 'P-256'], [{ name: 'secp384r1' }, true, 'P-384'], [{ name: 'X25519' }, true, undefined],
      [{ name: 'ffdhe2048' }, true, undefined], [null, true, undefined], [{}, true, undefined], [{ name: 'prime256v1' }, false, undefined]] as const) {
      const facts = new LearnedFacts(new Map(), undefined, () => 1)
      const con = new FakeConnection()
      const socket = Object.assign(new EventEmitter(), { getEphemeralKeyInfo: () => keyInfo })
      con.stream = socket
      installAdaptiveConnect(con as unknown as PgConnection, plan(facts, { learnGroup }))
      con.emit('sslconnect')
      assert.equal(facts.get('k'), undefined, 'not before the handshake completes')
      socket.emit('secureConnect')
      assert.equal(facts.get('k')?.group, learned, JSON.stringify(keyInfo))
    }
  })

  it('compares the chosen group with the first one offered', () => {
    const facts = new LearnedFacts(new Map(), undefined, () => 1)
    const con = new FakeConnection()
    const socket = Object.assign(new EventEmitter(), { getEphemeralKeyInfo: () => ({ name: 'prime256v1' }) })
    con.stream = socket
    installAdaptiveConnect(con as unknown as PgConnection, plan(facts, { firstGroup: 'P-256' }))
    con.emit('sslconnect')
    socket.emit('secureConnect')
    assert.equal(facts.get('k'), undefined)
  })

  it("leaves pg's own connect for the SSLRequest, and listens to nothing without facts", () => {
    const con = new FakeConnection()
    installAdaptiveConnect(con as unknown as PgConnection, plan(undefined))
    assert.equal(con.listenerCount('parameterStatus'), 0)
    assert.equal(con.listenerCount('sslconnect'), 0)
    con.connect(5432, HOST)
    assert.deepEqual(con.calls, [`connect ${HOST}:5432`])
  })

  it('runs a function once the handshake completes, not before', () => {
    const socket = new EventEmitter()
    let ran = 0
    whenSecure(socket as never, () => { ran++ })
    assert.equal(ran, 0)
    socket.emit('secureConnect')
    socket.emit('secureConnect')
    assert.equal(ran, 1)
  })
})
