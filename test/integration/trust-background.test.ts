// A background download (the refresh after a cold start) must not keep the process alive: with the
// default fetch (node-fetch), its socket and its time limit are unref'd; a download the caller waits
// for keeps both. Seen from inside the process, while a mirror on 127.0.0.1 holds the answer back:
// process.getActiveResourcesInfo() lists only what keeps the event loop alive.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import { downloadRoot } from '../../src/trust/download.js'
import { clearRootMemo, resolveAzureRoots, settleBackgroundWork } from '../../src/trust/store.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { createRootCa, issueServerCertificate } from '../../lab/pki.js'
import { listenOnLoopback, SocketSet } from '../../lab/tcp-server.js'
import { tempDirs } from '../support/temp-dir.js'

const G2 = AZURE_ROOTS.find((r) => r.id === 'digicert-global-root-g2')!
const g2Pem = readFileSync(new URL('../../certs/digicert-global-root-g2.pem', import.meta.url))
const server = createServer()
const sockets = new SocketSet()
let port = 0
let held: ((res: ServerResponse) => void) | undefined
/** Sockets keeping the loop alive before any download (the test runner's own). */
let idle = 0

/** The mirror's ends of open connections. */
const open = new Set<unknown>()

before(async () => {
  server.on('connection', (s) => { sockets.track(s); open.add(s); s.on('close', () => open.delete(s)) })
  server.on('request', (_req, res) => { held?.(res) })
  port = await listenOnLoopback(server)
  idle = count('TCPSocketWrap')
})

after(async () => { await sockets.close(server) })

function count(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length
}

const newDir = tempDirs('trust-background')

/** Waits until only the test runner's own sockets are left. */
async function quiet(): Promise<void> {
  sockets.destroyAll()
  for (let i = 0; i < 200 && count('TCPSocketWrap') > idle; i++) await new Promise((resolve) => setTimeout(resolve, 10))
}

/** What keeps the loop alive while the mirror holds the answer back, then the download's result. */
async function whileHeld(background: boolean): Promise<{ sockets: number; timeouts: number; fingerprint: string }> {
  // Connections of an earlier download would be counted too: wait until both their ends are gone.
  sockets.destroyAll()
  for (let i = 0; i < 200 && count('TCPSocketWrap') > idle; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  const baseline = { sockets: count('TCPSocketWrap'), timeouts: count('Timeout') }
  const arrived = new Promise<ServerResponse>((resolve) => { held = resolve })
  const download = downloadRoot(G2, { fetch: undefined, timeoutMs: 30_000, mirror: `http://127.0.0.1:${port}` }, { background })
  const res = await arrived
  const seen = { sockets: count('TCPSocketWrap') - baseline.sockets, timeouts: count('Timeout') - baseline.timeouts }
  res.end(g2Pem)
  const pem = await download
  return { ...seen, fingerprint: new X509Certificate(pem).fingerprint256 }
}

describe('a background download with the default fetch', () => {
  it('holds the process with neither its socket nor its time limit; a waited-for download holds both', async () => {
    const background = await whileHeld(true)
    const waited = await whileHeld(false)
    assert.equal(waited.fingerprint, G2.sha256)
    assert.equal(background.fingerprint, G2.sha256)
    // Waited for: the mirror's end of the connection, the client's end, the time limit.
    assert.deepEqual([waited.sockets, waited.timeouts], [2, 1])
    // In the background: only the mirror's end.
    assert.deepEqual([background.sockets, background.timeouts], [1, 0])
  })
})

describe('the background refresh after a cold start, with the default fetch', () => {
  it('downloads through the unref\'d socket too', async () => {
    clearRootMemo()
    await quiet()
    const baseline = count('TCPSocketWrap')
    const arrived = new Promise<ServerResponse>((resolve) => { held = resolve })
    const settings = resolveCertsSettings({ cacheDir: await newDir(), mirror: `http://127.0.0.1:${port}` }, {})
    const roots = await resolveAzureRoots(settings, { logger: { warn() {} }, now: () => new Date() })
    assert.deepEqual(roots.map((r) => r.origin), ['bundled', 'bundled', 'bundled'])
    const res = await arrived
    assert.equal(count('TCPSocketWrap') - baseline, open.size, "only the mirror's ends, none of the client's")
    assert.ok(open.size >= 1)
    res.statusCode = 404
    res.end()
    // The other two roots' requests are answered as they come.
    held = (r) => { r.statusCode = 404; r.end() }
    await settleBackgroundWork()
    held = undefined
  })
})

describe('a background download from an https mirror', () => {
  it('goes through TLS (and fails here on the mirror\'s unknown CA), not through a plain-http agent', async () => {
    const ca = await createRootCa('trust-background CA')
    const creds = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    const tlsServer = createHttpsServer({ key: creds.keyPem, cert: creds.certChainPem }, (_req, res) => { res.end(g2Pem) })
    tlsServer.on('connection', (s: Socket) => sockets.track(s))
    tlsServer.on('tlsClientError', () => {})
    const tlsPort = await listenOnLoopback(tlsServer)
    try {
      const err = await downloadRoot(G2, { fetch: undefined, timeoutMs: 30_000, mirror: `https://127.0.0.1:${tlsPort}` }, { background: true }).then(
        () => assert.fail('downloaded from a mirror whose CA is not trusted'), (e: unknown) => e as Error)
      assert.match(err.message, /certificate/)
      assert.doesNotMatch(err.message, /Protocol/)
    } finally {
      await sockets.close(tlsServer)
    }
  })
})
