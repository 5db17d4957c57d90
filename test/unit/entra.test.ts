import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { classifyAzureHost, entraScopeFor, resolveAzurePgConfig, userFromToken, type AzurePgOptions, type TokenCredential } from '../../src/index.js'
import { entraTokenSource } from '../../src/auth/entra.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { credentialFor, FakeCredential, jwt } from '../../lab/fake-credential.js'
import { assertAzureIdentityAbsent } from '../support/preconditions.js'

const base: AzurePgOptions = { env: {}, certs: { source: 'bundled' } }

describe('Entra token scope', () => {
  // Scopes copied from docs/azure-facts.md.
  const cases: Array<[string, string]> = [
    ['mydemoserver.postgres.database.azure.com', 'https://ossrdbms-aad.database.windows.net/.default'],
    ['mydemoserver.privatelink.postgres.database.azure.com', 'https://ossrdbms-aad.database.windows.net/.default'],
    ['gov.postgres.database.usgovcloudapi.net', 'https://ossrdbms-aad.database.usgovcloudapi.net/.default'],
    ['cn.postgres.database.chinacloudapi.cn', 'https://ossrdbms-aad.database.chinacloudapi.cn/.default'],
    ['c-cluster.abcdef.postgres.cosmos.azure.com', 'https://postgres.cosmos.azure.com/.default'],
    ['db.contoso.internal', 'https://ossrdbms-aad.database.windows.net/.default'],
  ]
  for (const [host, scope] of cases) {
    it(`${host} → ${scope}`, async () => {
      assert.equal(entraScopeFor(classifyAzureHost(host)), scope)
      const now = () => new Date()
      const cred = credentialFor({ upn: 'alice@contoso.com' }, now)
      await resolveAzurePgConfig({ ...base, host, entra: cred })
      assert.deepEqual(cred.scopes, [scope], 'the credential is asked for the host\'s scope')
    })
  }

  it('entraScope overrides', async () => {
    const cred = credentialFor({ upn: 'a@b.c' }, () => new Date())
    await resolveAzurePgConfig({ ...base, host: 'x.postgres.database.azure.com', entra: cred, entraScope: 'api://custom/.default' })
    assert.deepEqual(cred.scopes, ['api://custom/.default'])
  })
})

describe('user name from the token', () => {
  it('prefers upn, then preferred_username, unique_name, appid', () => {
    assert.equal(userFromToken(jwt({ upn: 'u@x.com', preferred_username: 'p@x.com', appid: 'app' })), 'u@x.com')
    assert.equal(userFromToken(jwt({ preferred_username: 'p@x.com', unique_name: 'n@x.com' })), 'p@x.com')
    assert.equal(userFromToken(jwt({ unique_name: 'n@x.com', appid: 'app' })), 'n@x.com')
    assert.equal(userFromToken(jwt({ appid: '1b2c3d4e-aaaa-bbbb-cccc-1234567890ab' })), '1b2c3d4e-aaaa-bbbb-cccc-1234567890ab')
    assert.equal(userFromToken(jwt({ sub: 'only-sub' })), undefined)
    assert.equal(userFromToken('not-a-jwt'), undefined)
  })

  it('fills user from the token, with Single Server naming on top', async () => {
    const now = () => new Date()
    const flexible = await resolveAzurePgConfig({ ...base, host: 'mydemoserver.postgres.database.azure.com', entra: credentialFor({ upn: 'alice@contoso.com' }, now) })
    assert.equal(flexible.user, 'alice@contoso.com')
    assert.equal(flexible.database, 'postgres')
    assert.equal(typeof flexible.password, 'function')
    const single = await resolveAzurePgConfig({ ...base, host: 'mydemoserver.postgres.database.azure.com', serverType: 'single', entra: credentialFor({ upn: 'alice@contoso.com' }, now) })
    assert.equal(single.user, 'alice@contoso.com@mydemoserver')
    const explicit = await resolveAzurePgConfig({ ...base, host: 'mydemoserver.postgres.database.azure.com', user: 'my-group', entra: credentialFor({ upn: 'alice@contoso.com' }, now) })
    assert.equal(explicit.user, 'my-group')
  })

  it('refuses when neither the options nor the token name a user', async () => {
    await expectAzureError(() => resolveAzurePgConfig({ ...base, host: 'x.postgres.database.azure.com', entra: credentialFor({ sub: 'x' }, () => new Date()) }), 'INVALID_CONFIG')
  })
})

describe('token source', () => {
  it('reuses a token until 5 minutes before expiry (fixed clock), then fetches a new one', async () => {
    let t = Date.parse('2026-11-29T10:00:00Z')
    const now = () => new Date(t)
    const cred = credentialFor({ upn: 'a@b.c' }, now, 60 * 60_000)
    const next = entraTokenSource(cred, 'scope-a', now, 30_000)
    const first = await next()
    t += 54 * 60_000
    assert.equal(await next(), first)
    assert.equal(cred.calls, 1)
    t += 2 * 60_000 // 56 minutes in: inside the 5-minute margin
    const second = await next()
    assert.notEqual(second, first)
    assert.equal(cred.calls, 2)
  })

  it('shares one getToken among concurrent callers, per credential and scope', async () => {
    const now = () => new Date()
    const cred = credentialFor({ upn: 'a@b.c' }, now)
    cred.delayMs = 30
    const tokens = await Promise.all(Array.from({ length: 50 }, () => entraTokenSource(cred, 'scope-b', now, 30_000)()))
    assert.equal(cred.calls, 1)
    assert.equal(new Set(tokens).size, 1)
    await entraTokenSource(cred, 'scope-c', now, 30_000)()
    assert.equal(cred.calls, 2, 'another scope is another token')
  })

  it('reports a throwing or empty credential as ENTRA_TOKEN_FAILED, with the credential error as cause', async () => {
    const boom = new Error('AADSTS700016: application not found')
    const throwing = new FakeCredential(() => { throw boom })
    const err = await expectAzureError(() => entraTokenSource(throwing, 's', () => new Date(), 30_000)(), 'ENTRA_TOKEN_FAILED')
    assert.equal(err.cause, boom)
    await expectAzureError(() => entraTokenSource(new FakeCredential(() => null), 's', () => new Date(), 30_000)(), 'ENTRA_TOKEN_FAILED')
    // A failed attempt is not cached: the next call asks again.
    const flaky = new FakeCredential(() => null)
    await expectAzureError(() => entraTokenSource(flaky, 's', () => new Date(), 30_000)(), 'ENTRA_TOKEN_FAILED')
    flaky.next = () => ({ token: jwt({ upn: 'a@b.c' }), expiresOnTimestamp: Date.now() + 3_600_000 })
    assert.match(await entraTokenSource(flaky, 's', () => new Date(), 30_000)(), /^ey/)
  })

  it('gives up on a credential that never answers after its time limit, and asks again next time', async () => {
    const silent: TokenCredential = { getToken: () => new Promise<never>(() => undefined) }
    const source = entraTokenSource(silent, 'silent-scope', () => new Date(), 50)
    const err = await expectAzureError(() => source(), 'ENTRA_TOKEN_FAILED')
    assert.match(err.message, /gave no token within 50 ms/)
    // The wait that timed out is not shared with the next caller: it gets its own limit.
    await expectAzureError(() => source(), 'ENTRA_TOKEN_FAILED')
  })
})

describe('Entra configuration errors', () => {
  it('refuses a password given alongside entra, from any source', async () => {
    const cred = credentialFor({ upn: 'a@b.c' }, () => new Date())
    const pw = 'Entra-Leak-Pw-77'
    for (const extra of [{ password: pw }, { connectionString: `host=x.postgres.database.azure.com password=${pw}` }, { env: { PGPASSWORD: pw } }] as AzurePgOptions[]) {
      const err = await expectAzureError(() => resolveAzurePgConfig({ ...base, host: 'x.postgres.database.azure.com', entra: cred, ...extra }), 'INVALID_CONFIG')
      assert.match(err.message, /password/)
      assert.doesNotMatch(errorText(err), new RegExp(pw))
    }
  })

  it('entra: true without @azure/identity installed is ENTRA_UNAVAILABLE naming the package', async () => {
    assertAzureIdentityAbsent()
    const err = await expectAzureError(() => resolveAzurePgConfig({ ...base, host: 'x.postgres.database.azure.com', entra: true }), 'ENTRA_UNAVAILABLE')
    assert.match(err.message, /@azure\/identity/)
    assert.match(err.hint, /npm install @azure\/identity/)
  })
})
