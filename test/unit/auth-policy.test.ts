// The authentication policy, pure: libpq's channel_binding and require_auth grammars, the combinations
// that can never log in, the verdict on each server request, and every source a setting comes from.
// Expected values are written out, not derived from the code under test.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decideAuth, judgeOutcome, judgeRequest, readChannelBinding, readRequireAuth, type AuthInput, type AuthPolicy, type AuthRequest, type RequireAuth } from '../../src/config/auth-policy.js'
import { resolveSettings } from '../../src/config/resolve.js'
import { resolveAzurePgConfig } from '../../src/index.js'
import type { Setting } from '../../src/config/setting.js'
import { expectAzureError, expectAzureErrorSync } from '../support/assert-error.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const opt = (value: string, name = 'require_auth'): Setting => ({ value, origin: `option "${name}"`, source: 'option' })

/** A require_auth reading as plain data: allowed methods sorted, none, canonical text. */
function read(value: string): [string[], boolean, string] | undefined {
  const r: RequireAuth | undefined = readRequireAuth(opt(value))
  return r === undefined ? undefined : [[...r.allowed].sort(), r.allowsNone, r.canonical]
}

describe('require_auth grammar (libpq 16)', () => {
  it('a plain list allows what it names, and only with none may the server skip authentication', () => {
    assert.deepEqual(read('scram-sha-256'), [['scram-sha-256'], false, 'scram-sha-256'])
    assert.deepEqual(read('password'), [['password'], false, 'password'])
    assert.deepEqual(read('md5,scram-sha-256'), [['md5', 'scram-sha-256'], false, 'md5,scram-sha-256'])
    assert.deepEqual(read('none'), [[], true, 'none'])
    assert.deepEqual(read('scram-sha-256,none'), [['scram-sha-256'], true, 'scram-sha-256,none'])
    assert.deepEqual(read('password,md5,scram-sha-256'), [['md5', 'password', 'scram-sha-256'], false, 'password,md5,scram-sha-256'])
  })

  it('a negated list allows everything it does not name, none included unless !none', () => {
    assert.deepEqual(read('!password'), [['gss', 'md5', 'oauth', 'scram-sha-256', 'sspi'], true, '!password'])
    assert.deepEqual(read('!password,!md5'), [['gss', 'oauth', 'scram-sha-256', 'sspi'], true, '!password,!md5'])
    assert.deepEqual(read('!none'), [['gss', 'md5', 'oauth', 'password', 'scram-sha-256', 'sspi'], false, '!none'])
    assert.deepEqual(read('!password,!md5,!none'), [['gss', 'oauth', 'scram-sha-256', 'sspi'], false, '!password,!md5,!none'])
  })

  it('accepts only libpq\'s spellings, as libpq compares them: other cases, Npgsql\'s names and blanks are refused', () => {
    for (const value of ['ScramSHA256', 'SCRAM-SHA-256', 'Scram Sha 256', 'scram_sha_256', 'scram-sha256', 'MD5', 'Password', 'None', ' password', 'password ', 'password, md5', '! password', 'PASSWORD']) {
      const err = expectAzureErrorSync(() => readRequireAuth(opt(value)), 'INVALID_CONFIG')
      assert.match(err.message, /is not one of libpq's method names \(lower case, no blanks\)\.$/, value)
      assert.match(err.hint, /lower case, no blanks/)
    }
  })

  it('empty or unset means no requirement, as in libpq; blanks alone are a (bad) method name, as in libpq', () => {
    assert.equal(readRequireAuth(undefined), undefined)
    assert.equal(readRequireAuth(opt('')), undefined)
    expectAzureErrorSync(() => readRequireAuth(opt('   ')), 'INVALID_CONFIG')
  })

  it('refuses unknown, empty, repeated and mixed elements as INVALID_CONFIG, never echoing the value', () => {
    const cases: Array<[string, RegExp]> = [
      ['scram-sha-1', /^require_auth \(from option "require_auth"\): element 1 of 1 is not one of libpq's method names \(lower case, no blanks\)\.$/],
      ['password,Hunter2Secret', /^require_auth \(from option "require_auth"\): element 2 of 2 is not one of libpq's method names/],
      ['password,', /^require_auth \(from option "require_auth"\): element 2 of 2 is empty\.$/],
      ['!', /element 1 of 1 is empty/],
      ['password,!md5', /^require_auth \(from option "require_auth"\) mixes negated \("!"\) and plain methods\.$/],
      ['!password,md5', /mixes negated/],
      ['md5,md5', /^require_auth \(from option "require_auth"\) names md5 more than once\.$/],
      ['!none,!none', /names none more than once/],
      ['scram', /element 1 of 1 is not one of libpq's method names/],
    ]
    for (const [value, message] of cases) {
      const err = expectAzureErrorSync(() => readRequireAuth(opt(value)), 'INVALID_CONFIG')
      assert.match(err.message, message, value)
      assert.doesNotMatch(err.message + err.hint, /Hunter2Secret|scram-sha-1/, value)
    }
  })
})

describe('channel_binding grammar', () => {
  it('disable, prefer, require in any case; unset is prefer (libpq\'s default)', () => {
    assert.deepEqual(['disable', 'Prefer', 'REQUIRE', ' require '].map((v) => readChannelBinding(opt(v, 'channel_binding'))), ['disable', 'prefer', 'require', 'require'])
    assert.equal(readChannelBinding(undefined), 'prefer')
  })

  it('anything else is INVALID_CONFIG naming where it came from, never the value', () => {
    // Empty too, as libpq refuses it: it must not quietly override PGCHANNELBINDING=require.
    for (const value of ['required', 'on', 'true', 'Sekr3tValue', '', '  ']) {
      const err = expectAzureErrorSync(() => readChannelBinding(opt(value, 'channel_binding')), 'INVALID_CONFIG')
      assert.equal(err.message, 'channel_binding (from option "channel_binding") is not "disable", "prefer" or "require".')
      assert.doesNotMatch(err.message + err.hint, /Sekr3tValue/)
    }
  })
})

const input = (over: Partial<AuthInput>): AuthInput => ({ channelBinding: undefined, requireAuth: undefined, enableChannelBinding: undefined, entra: false, ...over })

describe('decideAuth: combinations', () => {
  it('nothing set: prefer, no requirement', () => {
    const p = decideAuth(input({}))
    assert.deepEqual([p.channelBinding, p.requireAuth, p.channelBindingOrigin, p.requireAuthOrigin], ['prefer', undefined, undefined, undefined])
  })

  it('pg\'s enableChannelBinding: false is disable; true keeps the default, and a stricter require', () => {
    assert.equal(decideAuth(input({ enableChannelBinding: false })).channelBinding, 'disable')
    assert.equal(decideAuth(input({ enableChannelBinding: true })).channelBinding, 'prefer')
    assert.equal(decideAuth(input({ enableChannelBinding: true, channelBinding: opt('require', 'channel_binding') })).channelBinding, 'require')
    assert.equal(decideAuth(input({ enableChannelBinding: false, channelBinding: opt('disable', 'channel_binding') })).channelBinding, 'disable')
    const contradictions: Array<[boolean, string]> = [[false, 'require'], [false, 'prefer'], [true, 'disable']]
    for (const [flag, mode] of contradictions) {
      const err = expectAzureErrorSync(() => decideAuth(input({ enableChannelBinding: flag, channelBinding: opt(mode, 'channel_binding') })), 'INVALID_CONFIG')
      assert.match(err.message, new RegExp(`^enableChannelBinding: ${String(flag)} contradicts channel_binding \\(from option "channel_binding"\\)\\.$`))
    }
  })

  it('refuses, up front, what can never log in: Entra without password, Entra with channel_binding=require', () => {
    const noPassword = expectAzureErrorSync(() => decideAuth(input({ entra: true, requireAuth: opt('scram-sha-256') })), 'INVALID_CONFIG')
    assert.match(noPassword.message, /^require_auth \(from option "require_auth"\) does not allow password, the only method an Entra ID token is sent by/)
    assert.match(noPassword.hint, /require_auth=password/)
    expectAzureErrorSync(() => decideAuth(input({ entra: true, requireAuth: opt('!password') })), 'INVALID_CONFIG')
    const bound = expectAzureErrorSync(() => decideAuth(input({ entra: true, channelBinding: opt('require', 'channel_binding') })), 'INVALID_CONFIG')
    assert.match(bound.message, /^channel_binding=require \(from option "channel_binding"\) needs a SCRAM login, and an Entra ID token is sent as a cleartext password/)
    // What Entra can do is accepted.
    assert.equal(decideAuth(input({ entra: true, requireAuth: opt('password') })).requireAuth?.canonical, 'password')
    assert.equal(decideAuth(input({ entra: true, requireAuth: opt('!md5') })).requireAuth?.canonical, '!md5')
    assert.equal(decideAuth(input({ entra: true, channelBinding: opt('disable', 'channel_binding') })).channelBinding, 'disable')
  })

  it('refuses channel_binding=require without scram-sha-256, and a list of methods node-postgres cannot answer', () => {
    for (const ra of ['password', 'md5,password', 'none', '!scram-sha-256']) {
      const err = expectAzureErrorSync(() => decideAuth(input({ channelBinding: opt('require', 'channel_binding'), requireAuth: opt(ra) })), 'INVALID_CONFIG')
      assert.match(err.message, /^channel_binding=require \(from option "channel_binding"\) needs a SCRAM login, which require_auth \(from option "require_auth"\) does not allow/, ra)
    }
    assert.equal(decideAuth(input({ channelBinding: opt('require', 'channel_binding'), requireAuth: opt('scram-sha-256,none') })).channelBinding, 'require')
    for (const ra of ['gss', 'gss,sspi,oauth', '!password,!md5,!scram-sha-256,!none']) {
      const err = expectAzureErrorSync(() => decideAuth(input({ requireAuth: opt(ra) })), 'INVALID_CONFIG')
      assert.match(err.message, /allows no method node-postgres can answer \(password, md5, scram-sha-256, none\)/, ra)
    }
    assert.equal(decideAuth(input({ requireAuth: opt('gss,scram-sha-256') })).requireAuth?.canonical, 'gss,scram-sha-256')
  })
})

const policy = (over: Partial<AuthInput>): AuthPolicy => decideAuth(input(over))
const PASSWORD: AuthRequest = { kind: 'password' }
const MD5: AuthRequest = { kind: 'md5' }
const SCRAM_BOTH: AuthRequest = { kind: 'sasl', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] }
const SCRAM_UNBOUND: AuthRequest = { kind: 'sasl', mechanisms: ['SCRAM-SHA-256'] }

/** Which of the four requests a policy answers: 'y' answered, 'n' refused. */
function answers(p: AuthPolicy): string {
  return [PASSWORD, MD5, SCRAM_BOTH, SCRAM_UNBOUND].map((r) => (judgeRequest(p, r) === undefined ? 'y' : 'n')).join('')
}

describe('judgeRequest: before the client answers (password, md5, SCRAM with -PLUS, SCRAM without)', () => {
  it('answers or refuses each request as the policy says', () => {
    const table: Array<[Partial<AuthInput>, string]> = [
      [{}, 'yyyy'],
      [{ requireAuth: opt('scram-sha-256') }, 'nnyy'],
      [{ requireAuth: opt('password') }, 'ynnn'],
      [{ requireAuth: opt('md5,scram-sha-256') }, 'nyyy'],
      [{ requireAuth: opt('!password') }, 'nyyy'],
      [{ requireAuth: opt('!password,!md5') }, 'nnyy'],
      [{ requireAuth: opt('!scram-sha-256') }, 'yynn'],
      [{ requireAuth: opt('none') }, 'nnnn'],
      [{ channelBinding: opt('require', 'channel_binding') }, 'nnyn'],
      [{ channelBinding: opt('disable', 'channel_binding') }, 'yyyy'],
      [{ channelBinding: opt('require', 'channel_binding'), requireAuth: opt('scram-sha-256') }, 'nnyn'],
    ]
    for (const [over, expected] of table) assert.equal(answers(policy(over)), expected, JSON.stringify(over))
  })

  it('says what the server asked for, and which setting refuses it', () => {
    assert.deepEqual(judgeRequest(policy({ requireAuth: opt('scram-sha-256') }), PASSWORD), { asked: 'password', setting: 'require_auth', what: 'asked for a cleartext password' })
    assert.deepEqual(judgeRequest(policy({ requireAuth: opt('scram-sha-256') }), MD5), { asked: 'md5', setting: 'require_auth', what: 'asked for an MD5-hashed password' })
    assert.deepEqual(judgeRequest(policy({ requireAuth: opt('password') }), SCRAM_BOTH), { asked: 'scram-sha-256', setting: 'require_auth', what: 'asked for SCRAM-SHA-256' })
    assert.deepEqual(judgeRequest(policy({ channelBinding: opt('require', 'channel_binding') }), SCRAM_UNBOUND), {
      asked: 'scram-sha-256', setting: 'channel_binding', what: 'offered SCRAM without channel binding (mechanisms: SCRAM-SHA-256)', scramWithoutBinding: true,
    })
    // A server's own mechanism names are counted, not repeated.
    assert.equal(judgeRequest(policy({ channelBinding: opt('require', 'channel_binding') }), { kind: 'sasl', mechanisms: ['SCRAM-SHA-256', 'X-EVIL "text"'] })?.what,
      'offered SCRAM without channel binding (mechanisms: SCRAM-SHA-256, 1 other)')
  })

  it('with channel_binding=require, the proof goes out only for SCRAM-SHA-256-PLUS', () => {
    const p = policy({ channelBinding: opt('require', 'channel_binding') })
    assert.equal(judgeRequest(p, { kind: 'sasl-continue', mechanism: 'SCRAM-SHA-256-PLUS' }), undefined)
    assert.equal(judgeRequest(p, { kind: 'sasl-continue', mechanism: 'SCRAM-SHA-256' })?.setting, 'channel_binding')
    assert.equal(judgeRequest(p, { kind: 'sasl-continue', mechanism: undefined })?.setting, 'channel_binding')
    assert.equal(judgeRequest(policy({}), { kind: 'sasl-continue', mechanism: 'SCRAM-SHA-256' }), undefined)
  })
})

describe('judgeOutcome: at AuthenticationOk (libpq\'s none semantics)', () => {
  const unasked = { asked: undefined, completed: false, channelBound: false }
  const scramBound = { asked: 'scram-sha-256' as const, completed: true, channelBound: true }
  const scramUnbound = { asked: 'scram-sha-256' as const, completed: true, channelBound: false }
  const scramUnfinished = { asked: 'scram-sha-256' as const, completed: false, channelBound: false }
  const passwordSent = { asked: 'password' as const, completed: true, channelBound: false }

  it('a server that lets the client in unasked passes only without require_auth, with none, or with a negated list without !none', () => {
    assert.equal(judgeOutcome(policy({}), unasked), undefined)
    assert.equal(judgeOutcome(policy({ requireAuth: opt('none') }), unasked), undefined)
    assert.equal(judgeOutcome(policy({ requireAuth: opt('scram-sha-256,none') }), unasked), undefined)
    assert.equal(judgeOutcome(policy({ requireAuth: opt('!password') }), unasked), undefined)
    assert.deepEqual(judgeOutcome(policy({ requireAuth: opt('scram-sha-256') }), unasked), { asked: 'none', setting: 'require_auth', what: 'let the client in without asking for any authentication' })
    assert.equal(judgeOutcome(policy({ requireAuth: opt('!none') }), unasked)?.asked, 'none')
  })

  it('an exchange the server cut short (OK before the SCRAM signature) is refused unless none is allowed', () => {
    assert.deepEqual(judgeOutcome(policy({ requireAuth: opt('scram-sha-256') }), scramUnfinished), {
      asked: 'scram-sha-256', setting: 'require_auth', what: 'let the client in before the SCRAM-SHA-256 exchange was complete',
    })
    assert.equal(judgeOutcome(policy({ requireAuth: opt('scram-sha-256,none') }), scramUnfinished), undefined)
    assert.equal(judgeOutcome(policy({ requireAuth: opt('scram-sha-256') }), scramUnbound), undefined)
    assert.equal(judgeOutcome(policy({ requireAuth: opt('password') }), passwordSent), undefined)
  })

  it('channel_binding=require needs a completed, bound SCRAM exchange', () => {
    const p = policy({ channelBinding: opt('require', 'channel_binding') })
    assert.equal(judgeOutcome(p, scramBound), undefined)
    assert.equal(judgeOutcome(p, scramUnbound)?.what, 'let the client in without a completed, channel-bound SCRAM exchange')
    assert.equal(judgeOutcome(p, unasked)?.setting, 'channel_binding')
    assert.equal(judgeOutcome(policy({ channelBinding: opt('require', 'channel_binding'), requireAuth: opt('scram-sha-256,none') }), unasked)?.setting, 'channel_binding')
  })
})

describe('every source of channel_binding and require_auth', () => {
  const base = `host=${HOST} user=u`
  const read = (options: Parameters<typeof resolveSettings>[0], env: Record<string, string> = {}): [string, string | undefined, string | undefined, string | undefined] => {
    const { auth } = resolveSettings({ host: HOST, user: 'u', ...options }, env)
    return [auth.channelBinding, auth.requireAuth?.canonical, auth.channelBindingOrigin, auth.requireAuthOrigin]
  }

  it('options', () => {
    assert.deepEqual(read({ channel_binding: 'require', require_auth: 'scram-sha-256' }),
      ['require', 'scram-sha-256', 'option "channel_binding"', 'option "require_auth"'])
  })

  it('libpq URI and key=value', () => {
    assert.deepEqual(read({ connectionString: `postgresql://u@${HOST}/db?channel_binding=require&require_auth=scram-sha-256` }),
      ['require', 'scram-sha-256', 'connection string key "channel_binding"', 'connection string key "require_auth"'])
    assert.deepEqual(read({ connectionString: `${base} channel_binding=disable require_auth=!password,!md5` }),
      ['disable', '!password,!md5', 'connection string key "channel_binding"', 'connection string key "require_auth"'])
  })

  it('Npgsql (Channel Binding, Require Auth in Npgsql\'s names) and pgjdbc (channelBinding, and libpq\'s channel_binding and require_auth)', () => {
    assert.deepEqual(read({ connectionString: `Host=${HOST};Username=u;Channel Binding=Require;Require Auth=ScramSHA256` }),
      ['require', 'scram-sha-256', 'connection string key "Channel Binding"', 'connection string key "Require Auth"'])
    assert.deepEqual(read({ connectionString: `Host=${HOST};Username=u;ChannelBinding=Disable;RequireAuth=Password,MD5` }),
      ['disable', 'password,md5', 'connection string key "ChannelBinding"', 'connection string key "RequireAuth"'])
    assert.deepEqual(read({ connectionString: `Host=${HOST};Username=u;Require Auth= !Password , !MD5 ,, ` }).slice(1, 2), ['!password,!md5'])
    assert.deepEqual(read({ connectionString: `Host=${HOST};Username=u;Require Auth=GSS,SSPI,None,ScramSHA256` }).slice(1, 2), ['gss,sspi,none,scram-sha-256'])
    assert.deepEqual(read({ connectionString: `jdbc:postgresql://${HOST}:5432/db?user=u&channelBinding=require` }),
      ['require', undefined, 'connection string key "channelBinding"', undefined])
    // pgjdbc would drop libpq's spellings silently: a security setting that is written is honoured instead.
    assert.deepEqual(read({ connectionString: `jdbc:postgresql://${HOST}:5432/db?user=u&channel_binding=require&require_auth=scram-sha-256` }),
      ['require', 'scram-sha-256', 'connection string key "channel_binding"', 'connection string key "require_auth"'])
    // pgjdbc's keys are case-sensitive: channelbinding is not channelBinding.
    const jdbc = resolveSettings({ connectionString: `jdbc:postgresql://${HOST}:5432/db?user=u&channelbinding=require` }, {})
    assert.equal(jdbc.auth.channelBinding, 'prefer')
  })

  it('refuses Npgsql Require Auth values outside Npgsql\'s names, and libpq\'s spellings elsewhere than in libpq forms', () => {
    for (const value of ['scram-sha-256', 'Scram Sha 256', 'md5', 'SCRAMSHA256', '16', 'All']) {
      const err = expectAzureErrorSync(() => resolveSettings({ connectionString: `Host=${HOST};Username=u;Require Auth=${value}` }, {}), 'INVALID_CONFIG')
      assert.match(err.message, /element 1 of the value of key "Require Auth" is not one of Npgsql's Require Auth names/, value)
    }
    const mixed = expectAzureErrorSync(() => resolveSettings({ connectionString: `Host=${HOST};Username=u;Require Auth=Password,!MD5` }, {}), 'INVALID_CONFIG')
    assert.match(mixed.message, /mixes negated/)
    expectAzureErrorSync(() => resolveSettings({ connectionString: `${base} require_auth=ScramSHA256` }, {}), 'INVALID_CONFIG')
    expectAzureErrorSync(() => resolveSettings({ connectionString: `jdbc:postgresql://${HOST}:5432/db?user=u&require_auth=SCRAM-SHA-256` }, {}), 'INVALID_CONFIG')
  })

  it('PGCHANNELBINDING and PGREQUIREAUTH, below options and strings', () => {
    const env = { PGCHANNELBINDING: 'require', PGREQUIREAUTH: 'scram-sha-256' }
    assert.deepEqual(read({}, env), ['require', 'scram-sha-256', 'environment variable PGCHANNELBINDING', 'environment variable PGREQUIREAUTH'])
    assert.deepEqual(read({ connectionString: `${base} require_auth=password channel_binding=prefer` }, env),
      ['prefer', 'password', 'connection string key "channel_binding"', 'connection string key "require_auth"'])
    assert.deepEqual(read({ channel_binding: 'disable' }, env).slice(0, 2), ['disable', 'scram-sha-256'])
    // Client settings, not a server description: read beside Service Connector's variables too.
    const sc = resolveSettings({}, { AZURE_POSTGRESQL_HOST: HOST, AZURE_POSTGRESQL_USER: 'u', PGREQUIREAUTH: 'scram-sha-256' })
    assert.equal(sc.auth.requireAuth?.canonical, 'scram-sha-256')
  })

  it('the keys are no longer reported as ignored', () => {
    assert.deepEqual(resolveSettings({ connectionString: `${base} channel_binding=require require_auth=scram-sha-256` }, {}).warnings, [])
  })

  it('a bad value from a string names the key, never the value; enableChannelBinding must be a boolean', () => {
    const err = expectAzureErrorSync(() => resolveSettings({ connectionString: `${base} password=Pw-Leak-7 require_auth=Pw-Leak-7` }, {}), 'INVALID_CONFIG')
    assert.equal(err.message, 'require_auth (from connection string key "require_auth"): element 1 of 1 is not one of libpq\'s method names (lower case, no blanks).')
    assert.doesNotMatch(err.message + err.hint, /Pw-Leak-7/)
    expectAzureErrorSync(() => resolveSettings({ host: HOST, user: 'u', channel_binding: 7 as unknown as 'require' }, {}), 'INVALID_CONFIG')
    expectAzureErrorSync(() => resolveSettings({ host: HOST, user: 'u', enableChannelBinding: 'yes' as unknown as boolean }, {}), 'INVALID_CONFIG')
    assert.equal(resolveSettings({ host: HOST, user: 'u', enableChannelBinding: false }, {}).pgExtras['enableChannelBinding'], undefined)
  })

  it('Entra with require_auth=scram-sha-256 is refused before anything is loaded', () => {
    const err = expectAzureErrorSync(() => resolveSettings({ host: HOST, entra: true, require_auth: 'scram-sha-256' }, {}), 'INVALID_CONFIG')
    assert.match(err.message, /does not allow password, the only method an Entra ID token is sent by/)
    assert.equal(resolveSettings({ host: HOST, entra: true, require_auth: 'password' }, {}).auth.requireAuth?.canonical, 'password')
  })
})

describe('resolveAzurePgConfig: plain pg cannot enforce the policy', () => {
  it('maps channel_binding onto pg\'s enableChannelBinding', async () => {
    const on = await resolveAzurePgConfig({ host: HOST, user: 'u', env: {}, certs: { source: 'bundled' } })
    assert.equal(on.enableChannelBinding, true)
    const off = await resolveAzurePgConfig({ host: HOST, user: 'u', env: {}, certs: { source: 'bundled' }, channel_binding: 'disable' })
    assert.equal(off.enableChannelBinding, false)
  })

  it('refuses require_auth and channel_binding=require, which only the SDK\'s client enforces', async () => {
    for (const extra of [{ require_auth: 'scram-sha-256' }, { channel_binding: 'require' as const }, { env: { PGREQUIREAUTH: '!password' } }]) {
      const err = await expectAzureError(() => resolveAzurePgConfig({ host: HOST, user: 'u', env: {}, certs: { source: 'bundled' }, ...extra }), 'INVALID_CONFIG')
      assert.match(err.message, /is enforced by the SDK's client, and a plain pg configuration would answer whatever the server asks for\.$/)
      assert.match(err.hint, /createAzurePgPool/)
    }
  })
})
