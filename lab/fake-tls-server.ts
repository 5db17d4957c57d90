// A stand-in server on 127.0.0.1 that speaks just enough of PostgreSQL's TLS negotiation to test what
// a client does at each step: it can say nothing, answer the SSLRequest and stall, complete TLS and
// stall, accept direct TLS without ALPN, or ask for a password (cleartext, MD5, SCRAM without channel
// binding) or for GSSAPI. It records what the client sent, in the clear and inside TLS.
import { createServer, type Server, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { listenOnLoopback, SocketSet } from './tcp-server.js'

/** How the stand-in behaves. */
export type FakeMode =
  /** Accepts TCP and never answers. */
  | 'silent'
  /** Answers the SSLRequest with `S`, then never answers again. */
  | 'tls-request-then-silent'
  /** Answers `S`, completes the TLS handshake, then never answers. */
  | 'handshake-then-silent'
  /** Completes a TLS handshake on the first bytes (direct TLS), selecting no ALPN protocol. */
  | 'direct-without-alpn'
  /** Answers `S`, completes TLS, asks for a cleartext password, and echoes it back in an ErrorResponse (a hostile server). */
  | 'echo-password'
  /** Answers `S`, completes TLS, asks for an MD5-hashed password, and refuses whatever comes back. */
  | 'ask-md5'
  /** Answers `S`, completes TLS, offers SASL with SCRAM-SHA-256 only (no channel binding, as PgBouncer), and refuses whatever comes back. */
  | 'ask-scram-unbound'
  /** Answers `S`, completes TLS, and asks for GSSAPI authentication, which node-postgres cannot parse. */
  | 'ask-gss'

/** What the stand-in saw. */
export interface FakeRecord {
  connections: number
  /** Bytes the client sent before TLS, per connection. */
  readonly clear: Buffer[]
  /** Bytes the client sent inside TLS, per connection. */
  readonly secret: Buffer[]
  handshakes: number
}

export interface FakeTlsServer {
  readonly port: number
  readonly record: FakeRecord
  close(): Promise<void>
}

/** Starts a stand-in presenting `credentials` (chain and key PEM) when it does TLS. */
export async function startFakeTlsServer(mode: FakeMode, credentials: { certChainPem: string; keyPem: string }): Promise<FakeTlsServer> {
  const record: FakeRecord = { connections: 0, clear: [], secret: [], handshakes: 0 }
  const sockets = new SocketSet()
  const upgrade = (socket: Socket, index: number, head?: Buffer): void => {
    socket.removeAllListeners('data')
    const tls = new TLSSocket(socket, { isServer: true, cert: credentials.certChainPem, key: credentials.keyPem })
    sockets.track(tls)
    tls.on('secure', () => { record.handshakes++ })
    tls.on('data', (d: Buffer) => {
      record.secret[index] = Buffer.concat([record.secret[index] ?? Buffer.alloc(0), d])
      if (LOGIN_MODES.has(mode)) login(mode, tls, record.secret[index] ?? Buffer.alloc(0))
    })
    if (head !== undefined) socket.unshift(head)
  }
  const server: Server = createServer((socket) => {
    const index = record.connections++
    record.clear[index] = Buffer.alloc(0)
    record.secret[index] = Buffer.alloc(0)
    sockets.track(socket)
    if (mode === 'silent') return
    socket.once('data', (first: Buffer) => {
      if (mode === 'direct-without-alpn') {
        upgrade(socket, index, first)
        return
      }
      record.clear[index] = first
      socket.write('S')
      if (mode === 'handshake-then-silent' || LOGIN_MODES.has(mode)) upgrade(socket, index)
    })
  })
  const port = await listenOnLoopback(server)
  return { port, record, close: () => sockets.close(server) }
}

/** The modes that ask for a password once TLS is up. */
const LOGIN_MODES: ReadonlySet<FakeMode> = new Set(['echo-password', 'ask-md5', 'ask-scram-unbound', 'ask-gss'])

/** An authentication request: `R`, length, code, and the code's own body. */
function authRequest(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9)
  head.write('R', 0, 'latin1')
  head.writeInt32BE(8 + body.length, 1)
  head.writeInt32BE(code, 5)
  return Buffer.concat([head, body])
}

/** A FATAL ErrorResponse with SQLSTATE 28P01 and `text`. */
function fatal(text: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C28P01\0M${text}\0\0`, 'utf8')
  const head = Buffer.alloc(5)
  head.write('E', 0, 'latin1')
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

/**
 * The hostile server's side of the login: once the startup message is in, ask for a password the
 * mode's way; then answer the client's first message with an error (echoing a cleartext password back).
 */
function login(mode: FakeMode, tls: TLSSocket, received: Buffer): void {
  const startupLength = received.length >= 4 ? received.readInt32BE(0) : Infinity
  if (received.length < startupLength) return
  const rest = received.subarray(startupLength)
  if (rest.length === 0) {
    tls.write(mode === 'ask-md5' ? authRequest(5, Buffer.from([1, 2, 3, 4]))
      : mode === 'ask-scram-unbound' ? authRequest(10, Buffer.from('SCRAM-SHA-256\0\0', 'latin1'))
        : mode === 'ask-gss' ? authRequest(7)
          : authRequest(3))
    return
  }
  if (rest[0] !== 0x70 || rest.length < 5 || rest.length < 1 + rest.readInt32BE(1)) return
  if (mode !== 'echo-password') {
    tls.end(fatal('password authentication failed'))
    return
  }
  const password = rest.subarray(5, 1 + rest.readInt32BE(1) - 1).toString('utf8')
  tls.end(fatal(`password authentication failed: the password "${password}" is wrong`))
}
