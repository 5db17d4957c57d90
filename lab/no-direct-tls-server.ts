// A stand-in for a PostgreSQL server older than 17, which knows nothing of direct TLS: placed in
// front of the lab's PostgreSQL 18, it refuses a connection whose first bytes are a TLS ClientHello and
// relays every other connection (SSLRequest first, as libpq and pg do by default) untouched.
// PostgreSQL 16 reads a ClientHello as a startup packet of absurd length, logs "invalid length of
// startup packet" and closes without a word: that is the default. 'N' and 'error' stand for servers
// and middleboxes that answer instead.
import { connect, createServer, type Server } from 'node:net'
import { SocketSet, listenOnLoopback } from './tcp-server.js'
import { TLS_HANDSHAKE } from './tls-records.js'

/** What the stand-in does with a direct TLS ClientHello. */
export type DirectTlsRefusal =
  /** Close the connection without sending anything (PostgreSQL 16 and older). */
  | 'close'
  /** Answer the single byte `N`, as to an SSLRequest on a server without TLS, then close. */
  | 'N'
  /** Answer an ErrorResponse (`E`, SQLSTATE 08P01), then close. */
  | 'error'

export interface NoDirectTlsServer {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Connections that opened with a TLS ClientHello and were refused. */
  directAttempts(): number
  /** Connections relayed to the upstream server (they opened with anything but a ClientHello). */
  relayed(): number
  close(): Promise<void>
}

/** An ErrorResponse as PostgreSQL frames it: severity, SQLSTATE and message fields. */
function errorResponse(message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C08P01\0M${message}\0\0`, 'utf8')
  const head = Buffer.alloc(5)
  head.write('E', 0, 'latin1')
  head.writeInt32BE(fields.length + 4, 1)
  return Buffer.concat([head, fields])
}

/** Starts the stand-in on a free port of 127.0.0.1, relaying to `upstreamPort`. */
export async function startNoDirectTlsServer(options: { upstreamPort: number; upstreamHost?: string; refusal?: DirectTlsRefusal }): Promise<NoDirectTlsServer> {
  const refusal = options.refusal ?? 'close'
  const sockets = new SocketSet()
  let direct = 0
  let relayed = 0

  const server: Server = createServer((client) => {
    sockets.track(client)
    client.once('data', (first: Buffer) => {
      if (first[0] === TLS_HANDSHAKE) {
        direct++
        if (refusal === 'close') client.end()
        else client.end(refusal === 'N' ? Buffer.from('N') : errorResponse('unsupported frontend protocol'))
        return
      }
      relayed++
      client.pause()
      const upstream = connect({ host: options.upstreamHost ?? '127.0.0.1', port: options.upstreamPort })
      sockets.track(upstream)
      upstream.write(first)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
      client.on('close', () => upstream.destroy())
      upstream.on('close', () => client.destroy())
    })
  })
  const port = await listenOnLoopback(server)
  return {
    host: '127.0.0.1',
    port,
    directAttempts: () => direct,
    relayed: () => relayed,
    close: () => sockets.close(server),
  }
}
