// A certificate mirror behind HTTP Basic authorization, against real HTTP servers on 127.0.0.1: the
// credentials reach the mirror's origin as a header, never another origin, and never any text.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import type { CertsOptions, FetchFunction } from '../../src/options.js'
import { downloadRoot } from '../../src/trust/download.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { clearRootMemo, resolveAzureRoots, settleBackgroundWork, type ResolvedRoot } from '../../src/trust/store.js'
import { errorText, expectAzureError } from '../support/assert-error.js'
import { startMirror } from '../../lab/cert-mirror.js'
import { sharedMirror } from '../support/shared-mirror.js'
import { tempDirs } from '../support/temp-dir.js'
import { runCliCaptured } from '../support/cli.js'

const USER = 'pki-reader-7f3a'
// Reserved characters, percent-encoded in the URL as RFC 3986 asks; the header carries the decoded form.
const PASSWORD = 'Qx9/v?k#m@2&z=w;'
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`
/** Every form in which the credentials could leak into a text. */
const SECRET_FORMS = [PASSWORD, encodeURIComponent(PASSWORD), BASIC.slice('Basic '.length), USER]

const withCredentials = (url: string, user = USER, password = PASSWORD): string =>
  url.replace('://', `://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`)

const G2 = AZURE_ROOTS.find((r) => r.name === 'DigiCert Global Root G2')!
const tempDir = tempDirs('mirror-auth')

/** Fails when any form of the credentials appears in any of the texts. */
function assertNoSecret(texts: readonly string[]): void {
  for (const text of texts) {
    for (const secret of SECRET_FORMS) assert.ok(!text.includes(secret), `a credential leaked into: ${text.slice(0, 400)}`)
  }
}

/** Everything a caller can see of an error: message, hint, toString, inspect (causes and errors included), JSON. */
function textsOf(err: unknown): string[] {
  const e = err as Error & { hint?: string }
  return [e.message, e.hint ?? '', String(e), inspect(e, { depth: 10 }), JSON.stringify(e), errorText(e)]
}

function resolveWith(options: CertsOptions, warnings: string[] = []): Promise<readonly ResolvedRoot[]> {
  return resolveAzureRoots(resolveCertsSettings(options, {}), { logger: { warn: (m) => warnings.push(m) }, now: () => new Date() })
}

const protectedLab = sharedMirror({ auth: { user: USER, password: PASSWORD } })
const otherLab = sharedMirror()

describe('a mirror URL with credentials', () => {
  it('sends them as an Authorization header to the mirror, and downloads every root', async () => {
    const warnings: string[] = []
    const roots = await resolveWith({ source: 'download', mirror: withCredentials(protectedLab.current.url), cacheDir: await tempDir() }, warnings)
    assert.equal(roots.length, 3)
    assert.ok(roots.every((r) => r.origin === 'download'))
    assert.deepEqual(protectedLab.current.authorizations, [BASIC, BASIC, BASIC])
    // Plain http is allowed (the pins protect the roots) but the credentials travel in clear: said once.
    assert.equal(warnings.filter((w) => /plain http: its credentials travel unencrypted/.test(w)).length, 1, warnings.join('\n'))
    assertNoSecret(warnings)
  })

  it('without them, the same mirror answers 401 (so the header above is what let the downloads through)', async () => {
    const err = await expectAzureError(() => downloadRoot(G2, { fetch: undefined, timeoutMs: 5000, mirror: protectedLab.current.url }), 'CERT_UNAVAILABLE')
    assert.match(err.message, /HTTP 401/)
    assert.deepEqual(protectedLab.current.authorizations, [undefined])
  })

  it('keeps the header on redirects within the mirror origin', async () => {
    protectedLab.current.behaviour = 'redirectOk'
    const settings = resolveCertsSettings({ mirror: withCredentials(protectedLab.current.url) }, {})
    await downloadRoot(G2, settings)
    assert.equal(protectedLab.current.total(), 3)
    assert.deepEqual(protectedLab.current.authorizations, [BASIC, BASIC, BASIC])
  })

  it('never sends them to another origin after a redirect', async () => {
    protectedLab.current.behaviour = 'redirectAway'
    protectedLab.current.httpTarget = otherLab.current.url // another port on 127.0.0.1: another origin
    const settings = resolveCertsSettings({ mirror: withCredentials(protectedLab.current.url) }, {})
    const pem = await downloadRoot(G2, settings)
    assert.match(pem, /BEGIN CERTIFICATE/)
    assert.deepEqual(protectedLab.current.authorizations, [BASIC], 'the mirror got them')
    assert.deepEqual(otherLab.current.authorizations, [undefined], 'the other origin did not')
  })

  it('takes no credentials from a Location header either', async () => {
    protectedLab.current.behaviour = 'redirectAway'
    protectedLab.current.httpTarget = withCredentials(otherLab.current.url, 'intruder', 'planted')
    const settings = resolveCertsSettings({ mirror: withCredentials(protectedLab.current.url) }, {})
    await downloadRoot(G2, settings)
    assert.deepEqual(otherLab.current.authorizations, [undefined])
  })
})

describe('the credentials never appear in a text', () => {
  it('in CERT_UNAVAILABLE for an HTTP error, a refused connection and a time-out, causes included', async () => {
    const settings = resolveCertsSettings({ mirror: withCredentials(protectedLab.current.url), timeoutMs: 300 }, {})
    protectedLab.current.behaviour = '500'
    const http500 = await expectAzureError(() => downloadRoot(G2, settings), 'CERT_UNAVAILABLE')
    assert.match(http500.message, new RegExp(`from ${protectedLab.current.url}/DigiCertGlobalRootG2\\.crt\\.pem failed: HTTP 500`))

    protectedLab.current.behaviour = 'slow'
    const slow = await expectAzureError(() => downloadRoot(G2, settings), 'CERT_UNAVAILABLE')
    assert.match(slow.message, /within 300 ms/)
    protectedLab.current.releaseStalled()

    // node-fetch's own error text names the URL it was given: never one with user info.
    const closed = await startMirror()
    const closedUrl = closed.url
    await closed.close()
    const refused = await expectAzureError(() => downloadRoot(G2, resolveCertsSettings({ mirror: withCredentials(closedUrl) }, {})), 'CERT_UNAVAILABLE')
    assert.match(refused.message, /ECONNREFUSED/)
    assert.ok(refused.cause instanceof Error)

    for (const err of [http500, slow, refused]) assertNoSecret(textsOf(err))
  })

  it('in an error a fetch implementation builds from the request it was given: replaced as a whole', async () => {
    const echoing: FetchFunction = async (url, init) => {
      throw Object.assign(new Error(`proxy refused ${url} with ${init.headers['authorization'] ?? 'no auth'}`), {
        code: 'EPROXY', request: { url, headers: init.headers },
      })
    }
    const err = await expectAzureError(() => downloadRoot(G2, resolveCertsSettings({ mirror: withCredentials(protectedLab.current.url), fetch: echoing }, {})), 'CERT_UNAVAILABLE')
    assert.match(err.message, /withheld because it contains the mirror credentials/)
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'EPROXY', 'the cause keeps its code')
    assertNoSecret(textsOf(err))
  })

  it('in warnings, strict failures and the aggregate error of a resolution', async () => {
    protectedLab.current.behaviour = '404'
    const warnings: string[] = []
    const cacheDir = await tempDir()
    const roots = await resolveWith({ mirror: withCredentials(protectedLab.current.url), cacheDir, timeoutMs: 300 }, warnings)
    assert.ok(roots.every((r) => r.origin === 'bundled'))
    await settleBackgroundWork()
    assert.equal(warnings.filter((w) => /HTTP 404/.test(w)).length, 3, warnings.join('\n'))
    clearRootMemo()
    const strict = await expectAzureError(() => resolveWith({ source: 'download', mirror: withCredentials(protectedLab.current.url), cacheDir, timeoutMs: 300 }, warnings), 'CERT_UNAVAILABLE')
    assert.equal(strict.errors.length, 3)
    assertNoSecret([...warnings, ...textsOf(strict)])
  })

  it('in the settings themselves: inspect and JSON show the origin only', () => {
    const settings = resolveCertsSettings(undefined, { AZURE_PG_TLS_CERT_MIRROR: `${withCredentials('https://pki.example.internal')}/azure/` })
    assert.equal(settings.mirror, 'https://pki.example.internal/azure/')
    assert.equal(settings.mirrorCredentials?.origin, 'https://pki.example.internal')
    assertNoSecret([inspect(settings, { depth: 10, showHidden: true }), JSON.stringify(settings)])
  })

  it('in INVALID_CONFIG for a mirror URL that does not parse, whatever the reason', async () => {
    const bad = [
      `https://${USER}:${PASSWORD}@pki.example.internal/`, // password not percent-encoded: "/" ends the authority
      `ftp://${USER}:${encodeURIComponent(PASSWORD)}@pki.example.internal/`,
      `https://${USER}:${encodeURIComponent(PASSWORD)}@[bad/`,
      `https://${USER}:12/${encodeURIComponent(PASSWORD)}@pki/`,
    ]
    for (const value of bad) {
      const fromOption = await expectAzureError(() => resolveCertsSettings({ mirror: value }, {}), 'INVALID_CONFIG')
      assert.match(fromOption.message, /certs\.mirror \(from option "certs\.mirror"\)/)
      const fromEnv = await expectAzureError(() => resolveCertsSettings(undefined, { AZURE_PG_TLS_CERT_MIRROR: value }), 'INVALID_CONFIG')
      assert.match(fromEnv.message, /environment variable AZURE_PG_TLS_CERT_MIRROR/)
      assertNoSecret([...textsOf(fromOption), ...textsOf(fromEnv)])
    }
  })

  it('in the command line: certs fetch prints the mirror without user info', async () => {
    const run = await runCliCaptured(['certs', 'fetch', '--json', '--mirror', withCredentials(protectedLab.current.url), '--cache-dir', await tempDir()])
    const { code, allLines: out } = run
    assert.equal(code, 0, run.all)
    const results = (JSON.parse(run.all) as { results: Array<{ ok: boolean; url: string }> }).results
    assert.deepEqual(results.map((r) => r.ok), [true, true, true])
    assert.ok(results.every((r) => r.url.startsWith(`${protectedLab.current.url}/`)))
    assertNoSecret(out)
  })
})
