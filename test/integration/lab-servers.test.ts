// The lab's stand-ins for issue 10's servers prove they behave as described, against real servers:
// a PostgreSQL 18 started with ssl_groups = 'prime256v1', a server refusing direct TLS in front of
// PostgreSQL 18, and the delay proxy whose timeline counts round trips (events, never milliseconds).
import assert from 'node:assert/strict'
import { connect as tcpConnect } from 'node:net'
import tls, { type TLSSocket } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startDelayProxy, type DelayProxy } from '../../lab/delay-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { startNoDirectTlsServer, type DirectTlsRefusal } from '../../lab/no-direct-tls-server.js'
import { countRoundTrips, describeRoundTrips } from '../../lab/round-trips.js'

let lab: Lab
before(async () => { lab = await startLab(['good', 'p256Only']) })
after(async () => { await lab?.stop() })

function client(port: number, extra: { sslnegotiation?: 'direct'; ecdhCurve?: string } = {}): pg.Client {
  const ssl: tls.ConnectionOptions = { ca: lab.root.pem, servername: AZURE_HOST }
  if (extra.ecdhCurve !== undefined) ssl.ecdhCurve = extra.ecdhCurve
  const config: pg.ClientConfig & { sslnegotiation?: string } = {
    host: '127.0.0.1', port, user: LOGINS.flexible.user, password: LOGINS.flexible.password, database: 'postgres', ssl,
  }
  if (extra.sslnegotiation !== undefined) config.sslnegotiation = extra.sslnegotiation
  return new pg.Client(config)
}

const socketOf = (c: pg.Client): TLSSocket => (c as unknown as { connection: { stream: TLSSocket } }).connection.stream
const groupOf = (c: pg.Client): string | undefined => (socketOf(c).getEphemeralKeyInfo() as { name?: string } | null)?.name

/** Sends a TLS-handshake-looking record as the first bytes and collects every byte until the server closes. */
function firstBytesAsTls(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = tcpConnect({ host: '127.0.0.1', port }, () => socket.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00])))
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('the stand-in did not close within 5 s')) }, 5000)
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)) })
  })
}

describe('a PostgreSQL 18 server offering only P-256 (ssl_groups)', () => {
  it('runs with ssl_groups = prime256v1, where the default server offers X25519 first', async () => {
    assert.deepEqual((await lab.admin('p256Only', 'SHOW ssl_groups')).rows, [{ ssl_groups: 'prime256v1' }])
    assert.deepEqual((await lab.admin('good', 'SHOW ssl_groups')).rows, [{ ssl_groups: 'X25519:prime256v1' }])
  })

  it('settles on P-256 with Node\'s default groups, and refuses a client offering X25519 only', async () => {
    const c = client(lab.server('p256Only').port)
    await c.connect()
    try {
      assert.equal(groupOf(c), 'prime256v1')
    } finally {
      await c.end()
    }
    await assert.rejects(client(lab.server('p256Only').port, { ecdhCurve: 'X25519' }).connect(), /handshake failure|alert/i)
    const d = client(lab.server('good').port)
    await d.connect()
    try {
      assert.equal(groupOf(d), 'X25519')
    } finally {
      await d.end()
    }
  })
})

describe('the stand-in for a server without direct TLS', () => {
  it('closes on a real direct TLS ClientHello (ALPN postgresql) without answering, and counts it', async () => {
    const standIn = await startNoDirectTlsServer({ upstreamPort: lab.server('good').port })
    try {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port: standIn.port, servername: AZURE_HOST, ALPNProtocols: ['postgresql'], ca: lab.root.pem })
        socket.once('secureConnect', () => { socket.destroy(); resolve('handshake completed') })
        socket.once('error', (err) => resolve(err.message))
      })
      assert.match(outcome, /disconnected before secure TLS connection/)
      assert.equal(standIn.directAttempts(), 1)
      assert.equal(standIn.relayed(), 0)
    } finally {
      await standIn.close()
    }
  })

  it('relays the SSLRequest path: pg with sslnegotiation postgres works through it, direct does not', async () => {
    const standIn = await startNoDirectTlsServer({ upstreamPort: lab.server('good').port })
    try {
      const c = client(standIn.port)
      await c.connect()
      try {
        assert.deepEqual((await c.query('SELECT 41 + 1 AS answer')).rows, [{ answer: 42 }])
        assert.equal(socketOf(c).authorized, true)
      } finally {
        await c.end()
      }
      await assert.rejects(client(standIn.port, { sslnegotiation: 'direct' }).connect())
      assert.equal(standIn.relayed(), 1)
      assert.equal(standIn.directAttempts(), 1)
    } finally {
      await standIn.close()
    }
  })

  for (const [refusal, check] of [
    ['close', (b: Buffer) => assert.equal(b.length, 0)],
    ['N', (b: Buffer) => assert.equal(b.toString('latin1'), 'N')],
    ['error', (b: Buffer) => { assert.equal(b.toString('latin1', 0, 1), 'E'); assert.ok(b.includes('C08P01')) }],
  ] as Array<[DirectTlsRefusal, (b: Buffer) => void]>) {
    it(`refusal '${refusal}': answers a ClientHello as described, then closes`, async () => {
      const standIn = await startNoDirectTlsServer({ upstreamPort: lab.server('good').port, refusal })
      try {
        check(await firstBytesAsTls(standIn.port))
        assert.equal(standIn.directAttempts(), 1)
      } finally {
        await standIn.close()
      }
    })
  }
})

describe('round trips counted through the delay proxy (pg, connect + SELECT 1 + end)', () => {
  let proxy: DelayProxy
  async function roundTrips(port: number, extra: Parameters<typeof client>[1] = {}): Promise<{ count: number; phases: string; direct: boolean }> {
    proxy.reset()
    const c = client(port, extra)
    await c.connect()
    await c.query('SELECT 1')
    await c.end()
    // Every answer is in the timeline once the query has resolved; the server's closing alert, which
    // may still be on its way, is not an answer either way.
    const [timeline, ...more] = proxy.connections()
    assert.ok(timeline !== undefined)
    assert.equal(more.length, 0)
    const counted = countRoundTrips(timeline)
    return { count: counted.roundTrips, phases: describeRoundTrips(counted), direct: timeline.directTls }
  }

  it('PostgreSQL 18 defaults: 6 with the SSLRequest, 5 with direct TLS', async () => {
    proxy = await startDelayProxy({ upstreamPort: lab.server('good').port, delayMs: 5 })
    try {
      const port = proxy.port
      assert.deepEqual(await roundTrips(port), { count: 6, phases: 'SSLRequest, TLS handshake, startup/auth ×3, query', direct: false })
      assert.deepEqual(await roundTrips(port, { sslnegotiation: 'direct' }), { count: 5, phases: 'TLS handshake, startup/auth ×3, query', direct: true })
    } finally {
      await proxy.close()
    }
  })

  it('P-256 only: Node\'s default key share pays a HelloRetryRequest, P-256 first does not', async () => {
    proxy = await startDelayProxy({ upstreamPort: lab.server('p256Only').port, delayMs: 5 })
    try {
      const port = proxy.port
      assert.deepEqual(await roundTrips(port), { count: 7, phases: 'SSLRequest, TLS handshake ×2, startup/auth ×3, query', direct: false })
      assert.deepEqual(await roundTrips(port, { ecdhCurve: 'P-256:X25519' }), { count: 6, phases: 'SSLRequest, TLS handshake, startup/auth ×3, query', direct: false })
    } finally {
      await proxy.close()
    }
  })
})
