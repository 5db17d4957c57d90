// Entra ID tokens as passwords, against a real PostgreSQL server: each role's password is set to the
// token the credential hands out, so a connection succeeds only if exactly that token was sent for
// exactly that user.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type pg from 'pg'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { FakeCredential, jwt } from '../../lab/fake-credential.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, startLab, type Lab } from '../../lab/lab.js'

const ALICE = 'alice@contoso.com'
let lab: Lab
let t = Date.parse('2026-11-29T10:00:00Z')
const now = (): Date => new Date(t)

before(async () => {
  lab = await startLab(['good'])
  await lab.admin('good', `CREATE ROLE "${ALICE}" LOGIN`)
  await lab.admin('good', `CREATE ROLE "${ALICE}@mydemoserver" LOGIN`)
  await lab.admin('good', 'CREATE ROLE "managed-identity-app" LOGIN')
})
after(async () => { await lab?.stop() })

/** A credential issuing tokens for `claims`, valid one hour from the fixed clock. */
function issuer(claims: Record<string, unknown>): { cred: FakeCredential; issued: string[] } {
  const issued: string[] = []
  const cred = new FakeCredential(() => {
    const token = jwt(claims)
    issued.push(token)
    return { token, expiresOnTimestamp: t + 3_600_000 }
  })
  return { cred, issued }
}

async function setPassword(role: string, token: string): Promise<void> {
  await lab.admin('good', `ALTER ROLE "${role}" PASSWORD '${token}'`)
}

function options(extra: AzurePgPoolOptions): AzurePgPoolOptions {
  return { host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server('good').port, sslrootcert: lab.rootPath, env: {}, now, connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS, ...extra }
}

const whoAmI = async (c: pg.ClientBase): Promise<string> => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u ?? ''

describe('Entra ID sign-in against a real server', () => {
  it('sends the token as the password and the token\'s user; a pool refreshes it at the refresh point', async () => {
    const { cred, issued } = issuer({ upn: ALICE })
    // The token the SDK fetches to learn the user name is the one the first connection must send.
    const pool = await createAzurePgPool(options({ entra: cred, max: 5 }))
    assert.equal(issued.length, 1)
    await setPassword(ALICE, issued[0] ?? '')
    const held: pg.PoolClient[] = []
    try {
      held.push(await pool.connect())
      assert.equal(await whoAmI(held[0]!), ALICE)

      t += 10 * 60_000 // well before expiry: a new connection reuses the cached token
      held.push(await pool.connect())
      assert.equal(cred.calls, 1)

      t += 46 * 60_000 // 56 minutes in: inside the 5-minute refresh margin
      // The server is told the next token before the SDK asks the credential for it.
      const upcoming = jwt({ upn: ALICE, rotated: true })
      cred.next = () => ({ token: upcoming, expiresOnTimestamp: t + 3_600_000 })
      await setPassword(ALICE, upcoming)
      held.push(await pool.connect())
      assert.equal(await whoAmI(held[2]!), ALICE)
      assert.equal(cred.calls, 2)
    } finally {
      held.forEach((c) => c.release())
      await pool.end()
    }
  })

  it('applies Single Server naming on top of the token\'s user', async () => {
    const { cred, issued } = issuer({ upn: ALICE })
    const client = await createAzurePgClient(options({ entra: cred, serverType: 'single' }))
    await setPassword(`${ALICE}@mydemoserver`, issued[0] ?? '')
    await client.connect()
    try {
      assert.equal(await whoAmI(client), `${ALICE}@mydemoserver`)
    } finally {
      await client.end()
    }
  })

  it('a pool opening 50 connections at once makes one token request', async () => {
    const { cred, issued } = issuer({ appid: 'managed-identity-app' })
    cred.delayMs = 50
    const pool = await createAzurePgPool(options({ entra: cred, user: 'managed-identity-app', max: 50 }))
    assert.equal(cred.calls, 0, 'with the user given, nothing is fetched before the first connection')
    // The server must expect the token before the SDK has fetched it: issue it up front.
    const token = jwt({ appid: 'managed-identity-app' })
    cred.next = () => { issued.push(token); return { token, expiresOnTimestamp: t + 3_600_000 } }
    await setPassword('managed-identity-app', token)
    try {
      const clients = await Promise.all(Array.from({ length: 50 }, () => pool.connect()))
      assert.equal(pool.totalCount, 50)
      clients.forEach((c) => c.release())
      assert.equal(cred.calls, 1)
    } finally {
      await pool.end()
    }
  })

  it('a rejected token is AUTH_FAILED with the principal hint, and the token appears nowhere in the error', async () => {
    const { cred, issued } = issuer({ upn: ALICE })
    const client = await createAzurePgClient(options({ entra: cred }))
    await setPassword(ALICE, 'something-else-entirely')
    const err = await expectAzureError(() => client.connect(), 'AUTH_FAILED')
    assert.match(err.hint, /pgaadauth_create_principal/)
    const text = errorText(err)
    for (const token of issued) {
      assert.ok(!text.includes(token), 'no token in the error')
      assert.ok(!text.includes(token.split('.')[2] ?? '-'), 'not even its signature')
    }
  })

  it('a credential failing at connect time is ENTRA_TOKEN_FAILED, before any login attempt', async () => {
    const failing = new FakeCredential(() => { throw new Error('ManagedIdentityCredential: no managed identity endpoint') })
    const client = await createAzurePgClient(options({ entra: failing, user: ALICE }))
    const err = await expectAzureError(() => client.connect(), 'ENTRA_TOKEN_FAILED')
    assert.match(String((err.cause as Error).message), /no managed identity endpoint/)
  })
})
