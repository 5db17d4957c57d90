// A TCP relay on 127.0.0.1 that sits between a client and a server (usually a lab PostgreSQL): it
// records the first bytes each client sends, so a test can see what was really said on the wire (an
// SSLRequest, or a TLS ClientHello straight away). It can also play the network in failure tests: send
// new connections elsewhere (as DNS does when a name moves), cut every open connection (a reset), or
// never close a connection (a peer that ignores the client's goodbye).
import { connect, createServer } from 'node:net'
import { listenOnLoopback, SocketSet } from './tcp-server.js'

/** What the relay saw of one client connection. */
export interface RelayedConnection {
  /** The first bytes the client sent (up to the relay's `recordBytes`). */
  readonly firstBytes: Buffer
}

/** Where the relay sends new connections. */
export interface RelayTarget {
  readonly host: string
  readonly port: number
}

export interface TcpRelay {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Connections accepted so far, in order. */
  connections(): readonly RelayedConnection[]
  /** Sends connections accepted from now on to `target`; open ones stay where they are. */
  retarget(target: RelayTarget): void
  /** Destroys every open connection, both sides (a network reset). */
  cut(): void
  close(): Promise<void>
}

export interface RelayOptions {
  /** How many of the client's first bytes to keep; default 64. */
  readonly recordBytes?: number
  /**
   * Never answer the client's goodbye: after the client's FIN nothing more reaches it (not the server's
   * TLS close_notify either), and its side is never closed, so a client waiting for the connection to
   * close waits until it closes the socket itself. Default false.
   */
  readonly neverClose?: boolean
}

/** Starts a relay on 127.0.0.1, port 0 (the system picks a free one), forwarding to `target`. */
export async function startTcpRelay(target: RelayTarget, options: RelayOptions = {}): Promise<TcpRelay> {
  const recordBytes = options.recordBytes ?? 64
  const neverClose = options.neverClose === true
  const seen: Array<{ firstBytes: Buffer }> = []
  const sockets = new SocketSet()
  let current = target

  const server = createServer({ allowHalfOpen: neverClose }, (client) => {
    const record = { firstBytes: Buffer.alloc(0) }
    seen.push(record)
    const upstream = connect({ host: current.host, port: current.port })
    // Errors are swallowed by the set: the other side is torn down on 'close'.
    sockets.track(client)
    sockets.track(upstream)
    client.on('data', (chunk: Buffer) => {
      if (record.firstBytes.length < recordBytes) {
        record.firstBytes = Buffer.concat([record.firstBytes, chunk]).subarray(0, recordBytes)
      }
      if (client.destroyed || upstream.destroyed) return
      upstream.write(chunk)
    })
    let clientSaidGoodbye = false
    client.on('end', () => { clientSaidGoodbye = true })
    upstream.on('data', (chunk: Buffer) => { if (!(neverClose && clientSaidGoodbye)) client.write(chunk) })
    client.on('close', () => upstream.destroy())
    if (neverClose) return
    upstream.on('close', () => client.destroy())
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  const port = await listenOnLoopback(server)
  return {
    host: '127.0.0.1',
    port,
    connections: () => seen.map((r) => ({ ...r })),
    retarget: (next) => { current = next },
    cut: () => sockets.destroyAll(),
    close: () => sockets.close(server),
  }
}
