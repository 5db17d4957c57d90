// A stand-in for a hostile PostgreSQL server on 127.0.0.1: it answers the SSLRequest, completes TLS with
// the certificate it is given (one the client trusts, as an interceptor's would be), and then writes
// whatever bytes a test scripts in answer to each client message. For what a real server never sends:
// a refused request with ReadyForQuery and a forged result behind it in one record, an authentication
// request pg-protocol cannot parse; or, instead of `S`, any other answer to the SSLRequest (an
// ErrorResponse in the clear, as a postmaster that cannot start a backend sends). It records what the
// client sent inside TLS, and how many connections it took.
import { createServer, type Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { listenOnLoopback, SocketSet } from './tcp-server.js'

/** A client message after the startup message: its type letter and body. */
export interface ClientMessage {
  readonly type: string
  readonly body: Buffer
}

/** Called with each client message (`'startup'` for the first); writes the answer to `tls`. */
export type ServerScript = (message: ClientMessage | 'startup', tls: TLSSocket) => void

export interface ScriptedServer {
  readonly port: number
  /** Connections accepted (TCP). */
  readonly connections: () => number
  /** Per connection, every message the client sent inside TLS, the startup message first. */
  readonly received: Buffer[][]
  close(): Promise<void>
}

/** One backend message: type letter, length, body. */
export function backendMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

/** An authentication request ('R') with its code (0: AuthenticationOk, 3: cleartext password, ...). */
export function authRequest(code: number): Buffer {
  const body = Buffer.alloc(4)
  body.writeInt32BE(code, 0)
  return backendMessage('R', body)
}

/** A ParameterStatus message ('S'): a setting the server reports. */
export function parameterStatus(name: string, value: string): Buffer {
  return backendMessage('S', Buffer.from(`${name}\0${value}\0`, 'utf8'))
}

/** BackendKeyData and ReadyForQuery: what a server sends once the login is done. */
export function readyForQuery(): Buffer {
  const key = Buffer.alloc(8)
  key.writeInt32BE(1234, 0)
  key.writeInt32BE(5678, 4)
  return Buffer.concat([backendMessage('K', key), backendMessage('Z', Buffer.from('I'))])
}

/** A one-column, one-row text result (RowDescription, DataRow, CommandComplete, ReadyForQuery). */
export function forgedResult(column: string, value: string): Buffer {
  const field = Buffer.alloc(18)
  field.writeUInt32BE(25, 6) // text
  field.writeInt16BE(-1, 10)
  const description = Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${column}\0`), field])
  const v = Buffer.from(value)
  const row = Buffer.alloc(6)
  row.writeInt16BE(1, 0)
  row.writeInt32BE(v.length, 2)
  return Buffer.concat([backendMessage('T', description), backendMessage('D', Buffer.concat([row, v])), backendMessage('C', Buffer.from('SELECT 1\0')), backendMessage('Z', Buffer.from('I'))])
}

/** A server error message ('E') with severity, SQLSTATE and text, as a server sends it. */
export function errorResponse(severity: string, code: string, message: string): Buffer {
  return backendMessage('E', Buffer.from(`S${severity}\0V${severity}\0C${code}\0M${message}\0\0`, 'utf8'))
}

/** How the stand-in answers the SSLRequest, when not with `S` and TLS. */
export interface ScriptedServerOptions {
  /** Written in the clear instead of `S`; then the connection is closed, as a postmaster's refusal is. */
  readonly sslAnswer?: Buffer
}

/** Starts the stand-in, presenting `credentials` (chain and key PEM). */
export async function startScriptedServer(credentials: { certChainPem: string; keyPem: string }, script: ServerScript, options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  const sockets = new SocketSet()
  const received: Buffer[][] = []
  let connections = 0
  const server = createServer((socket: Socket) => {
    connections++
    sockets.track(socket)
    const messages: Buffer[] = []
    received.push(messages)
    socket.once('data', () => {
      if (options.sslAnswer !== undefined) {
        socket.end(options.sslAnswer)
        return
      }
      socket.write('S')
      const tls = new TLSSocket(socket, { isServer: true, cert: credentials.certChainPem, key: credentials.keyPem })
      sockets.track(tls)
      let pending = Buffer.alloc(0)
      tls.on('data', (data: Buffer) => {
        pending = Buffer.concat([pending, data])
        for (;;) {
          const started = messages.length > 0
          const length = started ? (pending.length >= 5 ? 1 + pending.readInt32BE(1) : Infinity) : (pending.length >= 4 ? pending.readInt32BE(0) : Infinity)
          if (pending.length < length) return
          const whole = pending.subarray(0, length)
          pending = pending.subarray(length)
          messages.push(whole)
          script(started ? { type: String.fromCharCode(whole[0] ?? 0), body: whole.subarray(5) } : 'startup', tls)
        }
      })
    })
  })
  const port = await listenOnLoopback(server)
  return { port, received, connections: () => connections, close: () => sockets.close(server) }
}
