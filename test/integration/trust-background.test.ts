// A background download (the refresh after a cold start) must not keep the process alive: with the
// default fetch (node-fetch), its socket and its time limit are unref'd; a download the caller waits
// for keeps both. Seen from inside the process, while a mirror on 127.0.0.1 holds the answer back:
// process.getActiveResourcesInfo() lists only what keeps the event loop alive.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { downloadRoot } from '../../src/trust/download.js'
import { AZURE_ROOTS } from '../../src/trust/roots.js'
import { listenOnLoopback, SocketSet } from '../../lab/tcp-server.js'

const G2 = AZURE_ROOTS.find((r) => r.id === 'digicert-global-root-g2')!
const g2Pem = readFileSync(new URL('../../certs/digicert-global-root-g2.pem', import.meta.url))
const server = createServer()
const sockets = new SocketSet()
let port = 0
let held: ((res: ServerResponse) => void) | undefined
/** Sockets keeping the loop alive before any download (the test runner's own). */
let idle = 0

before(async () => {
  server.on('connection', (s) => sockets.track(s))
  server.on('request', (_req, res) => { held?.(res) })
  port = await listenOnLoopback(server)
  idle = count('TCPSocketWrap')
})

after(async () => { await sockets.close(server) })

function count(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length
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
