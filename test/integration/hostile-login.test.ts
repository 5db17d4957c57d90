// A hostile server holding a certificate the client trusts (an interceptor's), against the authentication
// guard: what it puts behind a request the guard refuses is never read, and what pg-protocol cannot parse
// before the session is ready fails the connection instead of the process.
import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Client as DropInClient } from '../../src/connect/pg.js'
import { AzurePgError, createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import { AZURE_HOST, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { authRequest, backendMessage, forgedResult, parameterStatus, readyForQuery, startScriptedServer, type ScriptedServer } from '../../lab/scripted-pg-server.js'
import { listenOnLoopback, SocketSet } from '../../lab/tcp-server.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(8000)
let lab: Lab
let credentials: { certChainPem: string; keyPem: string }
const servers: ScriptedServer[] = []

before(async () => {
  lab = await startLab([])
  credentials = await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] })
})
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
  await lab?.stop()
})

/** A stand-in that answers the startup message with `reply` (all in one TLS record). */
async function answering(reply: Buffer): Promise<ScriptedServer> {
  const server = await startScriptedServer(credentials, (message, tls) => { if (message === 'startup') tls.write(reply) })
  servers.push(server)
  return server
}

function options(port: number, extra: AzurePgPoolOptions = {}): AzurePgPoolOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port, database: 'postgres', user: 'myadmin', password: 'Recorded-Pa55word',
    sslrootcert: lab.rootPath, env: {}, learn: 'off', sslnegotiation: 'postgres', connectionTimeoutMillis: 5000, ...extra,
  }
}

/** The outcome of a promise, as its AzurePgError code, `resolved: …`, or the other error's text. */
async function outcome(p: Promise<unknown>, what: string): Promise<string> {
  return within(p.then((v) => `resolved: ${JSON.stringify((v as { rows?: unknown }).rows ?? null)}`, (err: unknown) => (err instanceof AzurePgError ? err.code : String(err))), what)
}

describe('a refused login with a forged session behind it', () => {
  const packets: Record<string, Buffer> = {
    'a cleartext password request, then AuthenticationOk': Buffer.concat([authRequest(3), authRequest(0), readyForQuery(), forgedResult('balance', 'FORGED')]),
    'AuthenticationOk without any request': Buffer.concat([authRequest(0), readyForQuery(), forgedResult('balance', 'FORGED')]),
  }
  for (const [name, packet] of Object.entries(packets)) {
    for (const setting of [{ require_auth: 'scram-sha-256' }, { channel_binding: 'require' as const }]) {
      it(`${name}, under ${JSON.stringify(setting)}: connect() and a query queued before it are refused, nothing is sent, no 'error' event`, async () => {
        const server = await answering(packet)
        const uncaught: unknown[] = []
        const record = (err: unknown): void => { uncaught.push(err) }
        process.on('uncaughtException', record)
        try {
          const client = await createAzurePgClient(options(server.port, setting))
          const early = client.query('SELECT balance FROM accounts')
          assert.equal(await outcome(client.connect(), 'connect()'), 'AUTH_METHOD_REFUSED')
          assert.equal(await outcome(early, 'the early query'), 'AUTH_METHOD_REFUSED')
          await within(client.end(), 'end()')

          const dropIn = new DropInClient(options(server.port, setting))
          const dropInEarly = dropIn.query('SELECT balance FROM accounts')
          assert.equal(await outcome(dropIn.connect(), 'drop-in connect()'), 'AUTH_METHOD_REFUSED')
          assert.equal(await outcome(dropInEarly, 'the drop-in early query'), 'AUTH_METHOD_REFUSED')
          await within(dropIn.end(), 'drop-in end()')

          const pool = await createAzurePgPool(options(server.port, { ...setting, max: 1 }))
          assert.equal(await outcome(pool.query('SELECT balance FROM accounts'), 'pool.query()'), 'AUTH_METHOD_REFUSED')
          await within(pool.end(), 'pool.end()')
          await new Promise((resolve) => setTimeout(resolve, 100))
        } finally {
          process.off('uncaughtException', record)
        }
        assert.deepEqual(uncaught, [], 'nothing reached the process as an uncaught exception')
        assert.deepEqual(server.received.map((messages) => messages.length), [1, 1, 1], 'each client sent its startup message and nothing else')
      })
    }
  }
})

describe('what pg-protocol cannot parse before the session is ready', () => {
  const replies: Array<[string, Buffer, string]> = [
    ['an authentication request of code -1', authRequest(-1), 'AUTH_METHOD_REFUSED'],
    ['GSSAPI (code 7)', authRequest(7), 'AUTH_METHOD_REFUSED'],
    ['an authentication request with no code', backendMessage('R'), 'CONNECTION_FAILED'],
  ]
  for (const [name, reply, code] of replies) {
    it(`${name}, with the default settings: connect() rejects (${code}); the process goes on`, async () => {
      const server = await answering(reply)
      const uncaught: unknown[] = []
      const record = (err: unknown): void => { uncaught.push(err) }
      process.on('uncaughtException', record)
      try {
        const client = await createAzurePgClient(options(server.port))
        assert.equal(await outcome(client.connect(), 'connect()'), code)
        await within(client.end(), 'end()')
      } finally {
        process.off('uncaughtException', record)
      }
      assert.deepEqual(uncaught, [])
      assert.equal(server.received[0]?.length, 1, 'only the startup message was sent')
    })
  }
})

/** SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]

/** A next server that never speaks TLS: it records what a client sends it, and with `hangUp` closes after the first chunk. */
interface Recorder {
  readonly port: number
  /** Everything received so far. */
  bytes(): Buffer
  /** Settles when the first chunk arrives. */
  readonly reached: Promise<void>
  /** Settles when the first connection closes. */
  readonly closed: Promise<void>
  close(): Promise<void>
}

async function startRecorder(hangUp: boolean): Promise<Recorder> {
  const received: Buffer[] = []
  const sockets = new SocketSet()
  let reached: () => void = () => undefined
  let closed: () => void = () => undefined
  const reachedP = new Promise<void>((resolve) => { reached = resolve })
  const closedP = new Promise<void>((resolve) => { closed = resolve })
  const server = net.createServer((socket) => {
    sockets.track(socket).on('close', () => closed())
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk)
      reached()
      if (hangUp) socket.destroy()
    })
  })
  const port = await listenOnLoopback(server)
  return { port, bytes: () => Buffer.concat(received), reached: reachedP, closed: closedP, close: () => sockets.close(server) }
}

describe('the rest of a chunk from a server the host loop has left', () => {
  // target_session_attrs=read-write leaves a standby at its ReadyForQuery and opens a socket to the next
  // server at once. A hostile first server puts a cleartext password request right behind that
  // ReadyForQuery, in the same chunk: pg must not answer it, least of all into the next server's socket,
  // which has no TLS yet (the password would go out in clear, ahead of the SSLRequest).
  it('a password request behind a rejected standby\'s ReadyForQuery is not answered; the next server first gets an SSLRequest', async () => {
    const standby = await answering(Buffer.concat([
      authRequest(0), parameterStatus('in_hot_standby', 'on'), parameterStatus('default_transaction_read_only', 'on'), readyForQuery(), authRequest(3),
    ]))
    // The next server records the first bytes it gets, then hangs up.
    const next = await startRecorder(true)
    try {
      const client = await createAzurePgClient({
        ...options(standby.port),
        host: [AZURE_HOST, AZURE_HOST], hostaddr: ['127.0.0.1', '127.0.0.1'], port: [standby.port, next.port], target_session_attrs: 'read-write',
      })
      assert.equal(await outcome(client.connect(), 'connect()'), 'CONNECTION_FAILED')
      await within(client.end(), 'end()')
      const bytes = next.bytes()
      assert.ok(!bytes.includes(Buffer.from('Recorded-Pa55word')), 'the password did not go to the next server')
      assert.deepEqual([...bytes.subarray(0, 8)], SSL_REQUEST, 'the next server\'s first bytes are an SSLRequest')
      // The standby gets its startup message, then at most a Terminate ('X'): no answer to its request ('p').
      assert.deepEqual(standby.received.map((messages) => messages.slice(1).map((m) => String.fromCharCode(m[0] ?? 0))), [['X']], 'what the standby got after its startup message')
    } finally {
      await next.close()
    }
  })

  it('a password request behind the ReadyForQuery of a server being checked is not answered, and ends the connect', async () => {
    // Nothing reported: the loop asks the server (SHOW transaction_read_only); the request behind the
    // ReadyForQuery arrives while it waits for the answer.
    const server = await answering(Buffer.concat([authRequest(0), readyForQuery(), authRequest(3)]))
    const client = await createAzurePgClient({ ...options(server.port), host: [AZURE_HOST], hostaddr: ['127.0.0.1'], port: [server.port], target_session_attrs: 'read-write' })
    assert.equal(await outcome(client.connect(), 'connect()'), 'CONNECTION_FAILED')
    await within(client.end(), 'end()')
    const sent = server.received.map((messages) => messages.slice(1).map((m) => String.fromCharCode(m[0] ?? 0)))
    assert.equal(sent.length, 1)
    // At most the check query ('Q', unless the socket closed before it went out) and a Terminate ('X'); never an answer ('p').
    assert.ok((sent[0] ?? []).every((type) => type === 'Q' || type === 'X'), `the server's request was not answered (the client sent ${JSON.stringify(sent)})`)
  })

  it('an unparsable request behind a rejected standby\'s ReadyForQuery does not end the login to the next server', async () => {
    const standby = await answering(Buffer.concat([
      authRequest(0), parameterStatus('in_hot_standby', 'on'), parameterStatus('default_transaction_read_only', 'on'), readyForQuery(), authRequest(7),
    ]))
    const primary = await answering(Buffer.concat([
      authRequest(0), parameterStatus('in_hot_standby', 'off'), parameterStatus('default_transaction_read_only', 'off'), readyForQuery(),
    ]))
    const client = await createAzurePgClient({
      ...options(standby.port),
      host: [AZURE_HOST, AZURE_HOST], hostaddr: ['127.0.0.1', '127.0.0.1'], port: [standby.port, primary.port], target_session_attrs: 'read-write',
    })
    const uncaught: unknown[] = []
    const record = (err: unknown): void => { uncaught.push(err) }
    process.on('uncaughtException', record)
    try {
      assert.equal(await outcome(client.connect().then(() => ({ rows: 'connected' })), 'connect()'), 'resolved: "connected"')
      await within(client.end(), 'end()')
    } finally {
      process.off('uncaughtException', record)
    }
    assert.deepEqual(uncaught, [])
    assert.deepEqual(primary.received.map((messages) => messages.length > 0), [true], 'the primary was logged in to')
  })
})

describe('an answer pg sends late, after the host loop moved on', () => {
  // pg answers a password request when the password function is done (an Entra token, say), into whatever
  // socket the connection holds then. If the server that asked ran out of its time meanwhile, that is the next
  // server's, before its TLS: the answer must not go there. No hostile server needed, only a slow function.
  it('a password that arrives after its server timed out is not written to the next server\'s socket', async () => {
    const asking = await answering(authRequest(3))
    const next = await startRecorder(false)
    try {
      const client = await createAzurePgClient({
        ...options(asking.port, { connectionTimeoutMillis: 1000 }),
        host: [AZURE_HOST, AZURE_HOST], hostaddr: ['127.0.0.1', '127.0.0.1'], port: [asking.port, next.port],
        // Ready only once the loop has moved on: the next server has its first bytes.
        password: async () => { await next.reached; return 'Recorded-Pa55word' },
      })
      assert.equal(await outcome(client.connect(), 'connect()'), 'CONNECTION_FAILED')
      await within(client.end(), 'end()')
      await within(next.closed, 'the next server\'s socket closed')
      const bytes = next.bytes()
      assert.ok(!bytes.includes(Buffer.from('Recorded-Pa55word')), 'the password did not go to the next server')
      assert.deepEqual([...bytes.subarray(0, 8)], SSL_REQUEST, 'the next server\'s first bytes are an SSLRequest')
      assert.equal(bytes.length, 8, 'and nothing else')
      assert.deepEqual(asking.received.map((messages) => messages.length), [1], 'the server that asked got nothing after its startup message')
    } finally {
      await next.close()
    }
  })

  it('a password fetched for a server that timed out is not sent to the next one, which asked meanwhile and gets its own answer once', async () => {
    const slow = await answering(authRequest(3))
    const next = await startScriptedServer(credentials, (message, tls) => {
      if (message === 'startup') tls.write(authRequest(3))
      else if (message.type === 'p') tls.write(Buffer.concat([authRequest(0), readyForQuery()]))
    })
    servers.push(next)
    // The first call (the slow server's) is answered only once the second (the next server's) has been made.
    let secondCall: () => void = () => undefined
    const second = new Promise<void>((resolve) => { secondCall = resolve })
    let calls = 0
    const client = await createAzurePgClient({
      ...options(slow.port, { connectionTimeoutMillis: 1000 }),
      host: [AZURE_HOST, AZURE_HOST], hostaddr: ['127.0.0.1', '127.0.0.1'], port: [slow.port, next.port],
      password: async () => {
        calls += 1
        if (calls === 1) await second
        else secondCall()
        return 'Recorded-Pa55word'
      },
    })
    assert.equal(await outcome(client.connect().then(() => ({ rows: 'connected' })), 'connect()'), 'resolved: "connected"')
    await within(client.end(), 'end()')
    assert.equal(calls, 2)
    const sent = next.received.map((messages) => messages.slice(1).map((m) => String.fromCharCode(m[0] ?? 0)))
    assert.equal(sent.length, 1)
    assert.deepEqual(sent[0]?.filter((type) => type !== 'X'), ['p'], 'the next server got one password message (its own), and at most Terminate beside it')
    assert.deepEqual(slow.received.map((messages) => messages.length), [1], 'the slow server got nothing after its startup message')
  })
})
