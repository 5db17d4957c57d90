// downloadRoot through the fetch seam, without a network: every answer a source can give (redirects,
// statuses, bodies of every size and shape, no answer at all) and where the mirror's credentials may
// go. The stand-in fetch records each request; answers are written out here, not computed by the SDK.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { X509Certificate } from 'node:crypto'
import { MirrorCredentials } from '../../src/config/mirror-url.js'
import type { FetchFunction, FetchResponse } from '../../src/options.js'
import { displayUrl, downloadRoot, downloadUrl, MAX_DOWNLOAD_BYTES, MAX_REDIRECTS, scrubError, type DownloadSettings } from '../../src/trust/download.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { expectAzureError } from '../support/assert-error.js'

const G2 = AZURE_ROOTS.find((r) => r.id === 'digicert-global-root-g2')!
const G2_PIN = 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F'
const G2_URL = 'https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem'
const g2Pem = readFileSync(new URL('../../certs/digicert-global-root-g2.pem', import.meta.url))
const BASIC = `Basic ${Buffer.from('mirror-user:mirror-pw').toString('base64')}`

interface Request { url: string; init: Parameters<FetchFunction>[1] & { agent?: unknown } }
type Answer = { status: number; location?: string; body?: FetchResponse['body'] } | ((init: Request['init']) => Promise<FetchResponse>)

/** A fetch that gives the answers in order and records the requests. */
function fakeFetch(...answers: Answer[]): { fetch: FetchFunction; requests: Request[] } {
  const requests: Request[] = []
  const fetch: FetchFunction = async (url, init) => {
    requests.push({ url, init })
    const a = answers.shift()
    if (a === undefined) throw new Error('no more answers')
    if (typeof a === 'function') return a(init)
    return { status: a.status, headers: { get: (n: string) => (n === 'location' ? a.location ?? null : null) }, body: a.body === undefined ? chunks(g2Pem) : a.body }
  }
  return { fetch, requests }
}

async function* chunks(...parts: Array<Uint8Array | string>): AsyncGenerator<Uint8Array | string> {
  for (const p of parts) yield p
}

const settings = (fetch: FetchFunction, more: Partial<DownloadSettings> = {}): DownloadSettings => ({ fetch, timeoutMs: 5000, mirror: undefined, ...more })
const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256
const credentials = (): MirrorCredentials => new MirrorCredentials('https://mirror.example', 'mirror-user', 'mirror-pw', 'mirror-user', 'mirror-pw')

describe('downloadRoot: a good answer', () => {
  it('asks the official URL, by GET without following redirects itself, and returns the verified PEM', async () => {
    const { fetch, requests } = fakeFetch({ status: 200 })
    assert.equal(fingerprint(await downloadRoot(G2, settings(fetch))), G2_PIN)
    assert.equal(requests.length, 1)
    const [r] = requests
    assert.equal(r?.url, G2_URL)
    assert.equal(r?.init.redirect, 'manual')
    assert.ok(r?.init.signal instanceof AbortSignal)
    assert.equal(r?.init.signal.aborted, false)
    assert.equal(r?.init.headers['user-agent'], 'azure-pg-tls')
    assert.match(r?.init.headers['accept'] ?? '', /application\/x-pem-file/)
    assert.equal(r?.init.headers['authorization'], undefined)
    assert.equal('agent' in (r?.init ?? {}), false, 'a fetch the caller passes gets no agent')
  })

  it('takes the body in string chunks (latin1) and in several pieces, and any 2xx status', async () => {
    const text = g2Pem.toString('latin1')
    const { fetch } = fakeFetch({ status: 203, body: chunks(text.slice(0, 100), Buffer.from(text.slice(100))) }, { status: 299 })
    assert.equal(fingerprint(await downloadRoot(G2, settings(fetch))), G2_PIN)
    assert.equal(fingerprint(await downloadRoot(G2, settings(fetch), { background: true })), G2_PIN)
  })

  it('asks a mirror for the official file name, with its credentials as a header', async () => {
    const { fetch, requests } = fakeFetch({ status: 200 })
    await downloadRoot(G2, settings(fetch, { mirror: 'https://mirror.example/pki', mirrorCredentials: credentials() }))
    assert.equal(requests[0]?.url, 'https://mirror.example/pki/DigiCertGlobalRootG2.crt.pem')
    assert.equal(requests[0]?.init.headers['authorization'], BASIC)
  })

  it('builds mirror URLs without doubled slashes', () => {
    assert.equal(downloadUrl(G2, undefined), G2_URL)
    assert.equal(downloadUrl(G2, 'https://m.example/a//'), 'https://m.example/a/DigiCertGlobalRootG2.crt.pem')
    assert.equal(downloadUrl(G2, 'https://m.example'), 'https://m.example/DigiCertGlobalRootG2.crt.pem')
  })
})

describe('downloadRoot: redirects', () => {
  it(`follows up to ${MAX_REDIRECTS} redirects, relative ones too, taking no user info from a Location`, async () => {
    assert.equal(MAX_REDIRECTS, 3)
    const { fetch, requests } = fakeFetch(
      { status: 301, location: '/moved/g2.pem', body: null }, { status: 302, location: 'https://u:p@other.example/x.pem' },
      { status: 399, location: 'http://plain.example/y.pem' }, { status: 200 })
    const http = fakeFetch({ status: 307, location: 'http://plain.example/y.pem' }, { status: 200 })
    assert.equal(fingerprint(await downloadRoot(G2, settings(http.fetch, { mirror: 'http://m.example' }))), G2_PIN)
    assert.deepEqual(http.requests.map((r) => r.url), ['http://m.example/DigiCertGlobalRootG2.crt.pem', 'http://plain.example/y.pem'])
    await expectAzureError(() => downloadRoot(G2, settings(fetch)), 'CERT_UNAVAILABLE').then((e) => assert.match(e.message, /from https to http/))
    assert.deepEqual(requests.map((r) => r.url), [G2_URL, 'https://cacerts.digicert.com/moved/g2.pem', 'https://other.example/x.pem'])
  })

  it('gives up after three redirects', async () => {
    const { fetch, requests } = fakeFetch(...Array.from({ length: 5 }, (_, i) => ({ status: 302, location: `/r${i}` })))
    const e = await expectAzureError(() => downloadRoot(G2, settings(fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /more than 3 redirects/)
    assert.equal(requests.length, 4)
  })

  it('refuses a redirect without a Location, to another scheme, and from https to http', async () => {
    for (const [answer, why] of [[{ status: 302 }, /HTTP 302 without a Location/], [{ status: 300, location: 'ftp://f.example/g2' }, /a redirect to a ftp: URL/],
      [{ status: 308, location: 'http://cacerts.digicert.com/g2' }, /a redirect from https to http \(http:\/\/cacerts.digicert.com\/g2\) was refused/]] as const) {
      const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(answer).fetch)), 'CERT_UNAVAILABLE')
      assert.match(e.message, why)
      assert.match(e.message, /^Downloading DigiCert Global Root G2 from https:\/\/cacerts.digicert.com\/DigiCertGlobalRootG2.crt.pem failed: /)
    }
  })

  it("sends the credentials to the mirror's origin only, not after a redirect elsewhere", async () => {
    const { fetch, requests } = fakeFetch({ status: 302, location: '/same-origin.pem' }, { status: 302, location: 'https://elsewhere.example/g2.pem' }, { status: 200 })
    await downloadRoot(G2, settings(fetch, { mirror: 'https://mirror.example', mirrorCredentials: credentials() }))
    assert.deepEqual(requests.map((r) => r.init.headers['authorization']), [BASIC, BASIC, undefined])
  })

  it('reads no more of a redirect body than the first chunk', async () => {
    let pulled = 0
    async function* endless(): AsyncGenerator<Uint8Array> { for (;;) { pulled++; yield Buffer.alloc(1024) } }
    const { fetch } = fakeFetch({ status: 302, location: '/x', body: endless() }, { status: 200 })
    await downloadRoot(G2, settings(fetch))
    assert.equal(pulled, 1)
  })
})

describe('downloadRoot: failures', () => {
  it('refuses a status outside 2xx, naming it', async () => {
    for (const status of [199, 404, 500]) {
      const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status }).fetch)), 'CERT_UNAVAILABLE')
      assert.match(e.message, new RegExp(`failed: HTTP ${status}\\.$`))
    }
  })

  it(`stops reading past ${MAX_DOWNLOAD_BYTES / 1024} KiB, and reads a body of exactly that size`, async () => {
    assert.equal(MAX_DOWNLOAD_BYTES, 65536)
    let pulled = 0
    async function* endless(): AsyncGenerator<Uint8Array> { for (;;) { pulled++; yield Buffer.alloc(1000, 0x41) } }
    const big = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status: 200, body: endless() }).fetch)), 'CERT_UNAVAILABLE')
    assert.match(big.message, /the body is larger than 64 KiB, which no root certificate is/)
    assert.equal(pulled, 66)
    const exact = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status: 200, body: chunks(Buffer.alloc(65536, 0x41)) }).fetch)), 'CERT_UNAVAILABLE')
    assert.match(exact.message, /not a certificate/)
  })

  it('calls no body an empty one', async () => {
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status: 200, body: null }).fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /the body is empty/)
  })

  it('says a body cut short was cut short, keeping the cause', async () => {
    async function* cut(): AsyncGenerator<Uint8Array> { yield g2Pem.subarray(0, 10); throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' }) }
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status: 200, body: cut() }).fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /the body was cut short: the connection closed before its end/)
    assert.equal((e.cause as NodeJS.ErrnoException).code, 'ECONNRESET')
  })

  it('ends a download that gets no answer at its time limit', async () => {
    const never = (init: Request['init']): Promise<FetchResponse> => new Promise((_, reject) => {
      init.signal.addEventListener('abort', () => reject(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' })))
    })
    const started = Date.now()
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(never).fetch, { timeoutMs: 50 })), 'CERT_UNAVAILABLE')
    assert.match(e.message, /no complete answer within 50 ms/)
    assert.ok(Date.now() - started < 4000)
  })

  it('ends a body that stalls at the time limit too', async () => {
    const stalls = (init: Request['init']): Promise<FetchResponse> => Promise.resolve({
      status: 200, headers: { get: () => null },
      body: (async function* () {
        yield g2Pem.subarray(0, 10)
        await new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(new Error('body aborted'))))
      })(),
    })
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(stalls).fetch, { timeoutMs: 50 })), 'CERT_UNAVAILABLE')
    assert.match(e.message, /no complete answer within 50 ms/)
  })

  it("passes on a fetch's own error, and withholds one that shows the credentials", async () => {
    const refused = async (): Promise<FetchResponse> => { throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' }) }
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(refused).fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /failed: connect ECONNREFUSED 10\.0\.0\.1:443\.$/)
    const leaky = async (): Promise<FetchResponse> => { throw new Error('request to https://mirror-user:mirror-pw@mirror.example/ failed') }
    const w = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(leaky).fetch, { mirror: 'https://mirror.example', mirrorCredentials: credentials() })), 'CERT_UNAVAILABLE')
    assert.doesNotMatch(`${w.message} ${String((w.cause as Error).message)} ${String((w.cause as Error).stack)}`, /mirror-pw/)
    assert.match(w.message, /error text is withheld/)
    const thrown = async (): Promise<FetchResponse> => { throw 'a string' }
    assert.match((await expectAzureError(() => downloadRoot(G2, settings(fakeFetch(thrown).fetch)), 'CERT_UNAVAILABLE')).message, /failed: a string\.$/)
  })
})

describe('scrubError and displayUrl', () => {
  it('keeps an error as it is without credentials', () => {
    const err = new Error('x')
    assert.equal(scrubError(err, undefined), err)
  })

  it('copies an error and its causes, withholding texts that hold the credentials, keeping name, code and clean frames', () => {
    const inner = Object.assign(new Error('inner with mirror-pw'), { code: 'EINNER', request: { headers: { authorization: BASIC } } })
    const outer = new Error('outer', { cause: inner })
    outer.name = 'FetchError'
    outer.stack = 'FetchError: outer\n    at clean (file.js:1:1)\n    at leak (https://mirror-user:mirror-pw@m/)\nnot a frame'
    const copy = scrubError(outer, credentials()) as Error & { cause: Error & { code?: string; request?: unknown } }
    assert.notEqual(copy, outer)
    assert.equal(copy.message, 'outer')
    assert.equal(copy.name, 'FetchError')
    assert.equal(copy.stack, 'FetchError: outer\n    at clean (file.js:1:1)')
    assert.equal(copy.cause.message, 'the error text is withheld because it contains the mirror credentials')
    assert.equal(copy.cause.code, 'EINNER')
    assert.equal(copy.cause.request, undefined)
    assert.equal((scrubError('plain mirror-pw', credentials()) as Error).message, 'the error text is withheld because it contains the mirror credentials')
    assert.equal((scrubError('plain', credentials()) as Error).message, 'plain')
    assert.equal(scrubError(null, credentials()), undefined)
    assert.equal(scrubError(undefined, credentials()), undefined)
    assert.equal(Object.hasOwn(scrubError(new Error('no cause'), credentials()) as Error, 'cause'), false)
    assert.equal((scrubError(Object.assign(new Error('c'), { code: 42 }), credentials()) as { code?: unknown }).code, undefined)
  })

  it('stops after five levels of causes', () => {
    let err = new Error('level 0')
    for (let i = 1; i <= 7; i++) err = new Error(`level ${i}`, { cause: err })
    let copy = scrubError(err, credentials()) as Error | undefined
    const messages: string[] = []
    while (copy !== undefined) { messages.push(copy.message); copy = copy.cause as Error | undefined }
    assert.deepEqual(messages, ['level 7', 'level 6', 'level 5', 'level 4', 'level 3'])
  })

  it('drops user info from URLs, and from texts that only look like one', () => {
    assert.equal(displayUrl('https://u:p@m.example/a'), 'https://m.example/a')
    assert.equal(displayUrl('https://u@m.example/a'), 'https://m.example/a')
    assert.equal(displayUrl('https://:p@m.example/a'), 'https://m.example/a')
    assert.equal(displayUrl('https://m.example/a?x=@y'), 'https://m.example/a?x=@y')
    assert.equal(displayUrl('weird://u:p@[bad/x'), 'weird://[bad/x')
    assert.equal(displayUrl('not a url @ all'), 'not a url @ all')
  })
})

describe('downloadRoot: details the first mutation run left open', () => {
  const MS = AZURE_ROOTS.find((r) => r.id === 'microsoft-rsa-root-ca-2017')!
  const msDer = new X509Certificate(readFileSync(new URL('../../certs/microsoft-rsa-root-ca-2017.pem', import.meta.url))).raw

  it('reads string chunks as latin1: a DER body given as a string keeps its bytes', async () => {
    const { fetch } = fakeFetch({ status: 200, body: chunks(msDer.toString('latin1')) })
    assert.equal(fingerprint(await downloadRoot(MS, settings(fetch))), 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0')
  })

  it('calls a body HTML only when it starts with "<"', async () => {
    const e = await expectAzureError(() => downloadRoot(G2, settings(fakeFetch({ status: 200, body: chunks('not a cert <html>') }).fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /the body is not a certificate \(truncated or corrupt DER\)/)
  })

  it('sends no authorization header at all without credentials, and gives a fetch of its own no agent in the background either', async () => {
    const { fetch, requests } = fakeFetch({ status: 200 })
    await downloadRoot(G2, settings(fetch), { background: true })
    assert.equal(Object.hasOwn(requests[0]?.init.headers ?? {}, 'authorization'), false)
    assert.equal('agent' in (requests[0]?.init ?? {}), false)
  })

  it('treats 400 as a failure, not a redirect, even with a Location', async () => {
    const { fetch, requests } = fakeFetch({ status: 400, location: '/elsewhere' })
    const e = await expectAzureError(() => downloadRoot(G2, settings(fetch)), 'CERT_UNAVAILABLE')
    assert.match(e.message, /failed: HTTP 400\.$/)
    assert.equal(requests.length, 1)
  })

  it('returns a URL without user info exactly as given', () => {
    assert.equal(displayUrl('https://M.example'), 'https://M.example')
    assert.equal(displayUrl('https://m.example/a/../b'), 'https://m.example/a/../b')
  })

  it('keeps only stack lines that are frames', () => {
    const err = new Error('x')
    err.stack = 'Error: x\n    at frame (a.js:1:1)\nnot-a-frame  at b.js\n\tat tabbed (c.js:2:2)'
    assert.equal((scrubError(err, credentials()) as Error).stack, 'Error: x\n    at frame (a.js:1:1)\n\tat tabbed (c.js:2:2)')
  })
})
