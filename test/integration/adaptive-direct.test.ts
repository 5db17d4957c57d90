// Direct TLS as the SDK drives it on a pg Connection (installAdaptiveConnect), against in-process TLS
// stand-ins on 127.0.0.1 rather than PostgreSQL: fast enough for mutation testing of adaptive-connect.ts
// (test/mutation/groups.json). A stand-in Connection records what pg would see: events, the stream,
// the fallback to the SSLRequest. The PostgreSQL side of the same paths is test/integration/adaptive-connect.test.ts.
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { createServer as createTcpServer, Socket, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createServer as createTlsServer, TLSSocket } from 'node:tls'
import { installAdaptiveConnect, whenSecure, type AdaptivePlan, type PgConnection } from '../../src/connect/adaptive-connect.js'
import { LearnedFacts } from '../../src/connect/learned-facts.js'
import { AzurePgError } from '../../src/errors.js'
import { createRootCa, issueServerCertificate, type Authority, type ServerCredentials } from '../../lab/pki.js'
import { listenOnLoopback, refusingPort, SocketSet } from '../../lab/tcp-server.js'

/** A stand-in for pg's Connection: records events, connect() (pg's own, for the SSLRequest) and requestSsl(). */
class FakeConnection extends EventEmitter {
  stream: unknown = undefined
  sslNegotiation = 'direct'
  _ending = false
  _keepAlive = false
  _keepAliveInitialDelayMillis = 0
  readonly calls: string[] = []
  readonly events: string[] = []
  readonly errors: unknown[] = []
  constructor(public ssl: unknown) {
    super()
    for (const e of ['connect', 'sslconnect', 'end']) this.on(e, () => { this.events.push(e) })
    this.on('error', (err: unknown) => { this.events.push('error'); this.errors.push(err) })
  }
  connect(port: unknown, host: unknown): void {
    this.calls.push(`connect ${String(host)}:${String(port)}`)
  }
  requestSsl(): void {
    this.calls.push('requestSsl')
  }
  attachListeners(stream: unknown): void {
    this.calls.push(stream === this.stream ? 'attachListeners(stream)' : 'attachListeners(other)')
  }
}

const asPg = (c: FakeConnection): PgConnection => c as unknown as PgConnection
const plan = (facts: LearnedFacts | undefined, over: Partial<AdaptivePlan> = {}): AdaptivePlan =>
  ({ negotiation: 'direct', fallback: true, key: 'k', host: 'not-named-here.invalid', address: '127.0.0.1', facts, firstGroup: 'X25519', learnGroup: false, ...over })

let ca: Authority
let otherCa: Authority
let creds: ServerCredentials
const servers: Server[] = []
const sockets = new SocketSet()

async function tlsServer(alpn: string[] | undefined): Promise<number> {
  const server = createTlsServer({ key: creds.keyPem, cert: creds.certChainPem, ...(alpn !== undefined && { ALPNProtocols: alpn }) })
  server.on('secureConnection', (s) => { sockets.track(s); s.on('error', () => {}) })
  server.on('tlsClientError', () => {})
  servers.push(server)
  return listenOnLoopback(server)
}

/** Accepts TCP and closes at the first byte: a server that does not speak direct TLS. */
async function closingServer(): Promise<number> {
  const server = createTcpServer((s) => { sockets.track(s); s.once('data', () => s.destroy()); s.on('error', () => {}) })
  servers.push(server)
  return listenOnLoopback(server)
}

/** Waits until the stand-in has seen `event`. */
async function seen(con: FakeConnection, event: string): Promise<void> {
  if (con.events.includes(event)) return
  // Not events.once: that rejects on an 'error' event, which several tests expect before 'end'.
  await new Promise<void>((resolve) => con.once(event, () => resolve()))
}

before(async () => {
  ca = await createRootCa('adaptive-direct CA')
  otherCa = await createRootCa('another CA')
  creds = await issueServerCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
})

after(async () => {
  sockets.destroyAll()
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
})

describe('direct TLS on a pg Connection', () => {
  it('hands pg a verified session with ALPN "postgresql": connect, then sslconnect, the TLS socket as stream', async () => {
    const port = await tlsServer(['postgresql'])
    for (const host of ['localhost', '127.0.0.1']) {
      const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true, minVersion: 'TLSv1.2' })
      con._keepAlive = true
      installAdaptiveConnect(asPg(con), plan(undefined))
      asPg(con).connect(port, host)
      await seen(con, 'sslconnect')
      assert.deepEqual(con.events, ['connect', 'sslconnect'], host)
      assert.ok(con.stream instanceof TLSSocket)
      const tls = con.stream as TLSSocket
      assert.equal(tls.authorized, true)
      assert.equal(tls.alpnProtocol, 'postgresql')
      assert.deepEqual(con.calls, ['attachListeners(stream)'])
      let ran = false
      whenSecure(tls, () => { ran = true })
      assert.equal(ran, true, 'the handshake is already done')
      // Errors on the verified session reach pg; a reset while pg ends the connection does not.
      con._ending = true
      tls.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
      assert.equal(con.errors.length, 0)
      con._ending = false
      tls.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }))
      assert.equal(con.errors.length, 1)
      tls.destroy()
      await seen(con, 'end')
    }
  })

  it('sends SNI for a host name', async () => {
    const port = await tlsServer(['postgresql'])
    const name = new Promise<unknown>((resolve) => { (servers.at(-1) as Server).once('secureConnection', (s: TLSSocket) => resolve((s as unknown as { servername?: unknown }).servername)) })
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(undefined))
    asPg(con).connect(port, 'localhost')
    await seen(con, 'sslconnect')
    assert.equal(await name, 'localhost')
    ;(con.stream as TLSSocket).destroy()
    await seen(con, 'end')
  })

  it('falls back to the SSLRequest on a fresh socket when the server does not select ALPN, and remembers it', async () => {
    const port = await tlsServer(undefined)
    const facts = new LearnedFacts(new Map(), undefined, () => 1)
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(facts))
    asPg(con).connect(port, 'localhost')
    while (!con.calls.some((c) => c.startsWith('connect '))) await new Promise((r) => setTimeout(r, 5))
    assert.deepEqual(con.calls, [`connect localhost:${port}`])
    assert.equal(con.sslNegotiation, 'postgres')
    assert.ok(con.stream instanceof Socket && !(con.stream instanceof TLSSocket))
    assert.equal(facts.get('k')?.direct, false)
    con.emit('connect')
    assert.deepEqual(con.calls, [`connect localhost:${port}`, 'requestSsl'])
    assert.equal(con.errors.length, 0)
    assert.equal(con.events.includes('end'), false, 'the first socket closing is not the end of the connection')
  })

  it('without fallback, fails a server without ALPN as CONNECTION_FAILED (no-alpn), then ends', async () => {
    const port = await tlsServer(undefined)
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(undefined, { fallback: false }))
    asPg(con).connect(port, 'localhost')
    await seen(con, 'end')
    assert.equal(con.errors.length, 1)
    const err = con.errors[0]
    assert.ok(err instanceof AzurePgError && err.code === 'CONNECTION_FAILED' && err.reason === 'no-alpn')
    assert.deepEqual(con.events.filter((e) => e !== 'connect'), ['error', 'end'])
    assert.deepEqual(con.calls, [])
  })

  it('never falls back from a certificate that does not verify', async () => {
    const port = await tlsServer(['postgresql'])
    const con = new FakeConnection({ ca: [otherCa.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(new LearnedFacts(new Map(), undefined, () => 1)))
    asPg(con).connect(port, 'localhost')
    await seen(con, 'end')
    assert.equal(con.errors.length, 1)
    assert.match(String((con.errors[0] as NodeJS.ErrnoException).code), /CERT|SIGNATURE|ISSUER/)
    assert.deepEqual(con.calls, [])
  })

  it('falls back when the server closes during the handshake; without fallback it reports the close', async () => {
    const port = await closingServer()
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(undefined))
    asPg(con).connect(port, '127.0.0.1')
    while (con.calls.length === 0) await new Promise((r) => setTimeout(r, 5))
    assert.deepEqual(con.calls, [`connect 127.0.0.1:${port}`])
    const strict = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(strict), plan(undefined, { fallback: false }))
    asPg(strict).connect(port, '127.0.0.1')
    await seen(strict, 'end')
    assert.equal(strict.errors.length, 1)
    assert.equal((strict.errors[0] as NodeJS.ErrnoException).code, 'ECONNRESET')
  })

  it("says the connection was terminated when the client's own end() cut the handshake short", async () => {
    const port = await closingServer()
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(undefined))
    asPg(con).connect(port, '127.0.0.1')
    await seen(con, 'connect')
    con._ending = true
    await seen(con, 'end')
    assert.deepEqual(con.errors.map((e) => (e as Error).message), ['Connection terminated'])
    assert.deepEqual(con.calls, [])
  })

  it('reports a server that cannot be reached as pg would, without fallback: error, then end', async () => {
    const port = await refusingPort()
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(new LearnedFacts(new Map(), undefined, () => 1)))
    asPg(con).connect(port, '127.0.0.1')
    await seen(con, 'end')
    assert.deepEqual(con.events, ['error', 'end'])
    assert.equal((con.errors[0] as NodeJS.ErrnoException).code, 'ECONNREFUSED')
    assert.deepEqual(con.calls, [])
  })

  it('points con.stream at the socket being tried, so that pg\'s time limit can destroy it', async () => {
    const port = await closingServer()
    const con = new FakeConnection({ ca: [ca.pem], rejectUnauthorized: true })
    installAdaptiveConnect(asPg(con), plan(undefined, { fallback: false }))
    asPg(con).connect(port, '127.0.0.1')
    assert.ok(con.stream instanceof Socket)
    ;(con.stream as Socket).destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }))
    await seen(con, 'end')
    assert.equal(con.errors.length, 1)
  })
})
