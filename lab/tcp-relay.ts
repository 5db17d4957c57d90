// A TCP relay on 127.0.0.1 that sits between a client and a server (usually a lab PostgreSQL): it
// records the first bytes each client sends, so a test can see what was really said on the wire (an
// SSLRequest, or a TLS ClientHello straight away).
import { connect, createServer } from 'node:net'
import { listenOnLoopback, SocketSet } from './tcp-server.js'

/** What the relay saw of one client connection. */
export interface RelayedConnection {
  /** The first bytes the client sent (up to the relay's `recordBytes`). */
  readonly firstBytes: Buffer
}

export interface TcpRelay {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Connections accepted so far, in order. */
  connections(): readonly RelayedConnection[]
  close(): Promise<void>
}

export interface RelayOptions {
  /** How many of the client's first bytes to keep; default 64. */
  readonly recordBytes?: number
}

/** Starts a relay on 127.0.0.1, port 0 (the system picks a free one), forwarding to `target`. */
export async function startTcpRelay(target: { host: string; port: number }, options: RelayOptions = {}): Promise<TcpRelay> {
  const recordBytes = options.recordBytes ?? 64
  const seen: Array<{ firstBytes: Buffer }> = []
  const sockets = new SocketSet()

  const server = createServer((client) => {
    const record = { firstBytes: Buffer.alloc(0) }
    seen.push(record)
    const upstream = connect({ host: target.host, port: target.port })
    // Errors are swallowed by the set: the other side is torn down on 'close'.
    sockets.track(client)
    sockets.track(upstream)
    client.on('data', (chunk: Buffer) => {
      if (record.firstBytes.length < recordBytes) {
        record.firstBytes = Buffer.concat([record.firstBytes, chunk]).subarray(0, recordBytes)
      }
      if (client.destroyed) return
      upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => { client.write(chunk) })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  const port = await listenOnLoopback(server)
  return {
    host: '127.0.0.1',
    port,
    connections: () => seen.map((r) => ({ ...r })),
    close: () => sockets.close(server),
  }
}
