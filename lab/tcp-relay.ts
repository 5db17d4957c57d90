// A TCP relay on 127.0.0.1 that sits between a client and a server (usually a lab PostgreSQL): it
// records the first bytes each client sends, so a test can see what was really said on the wire (an
// SSLRequest, or a TLS ClientHello straight away), and it can inject a fault at a chosen point.
import { connect, createServer, type Socket } from 'node:net'

/**
 * A fault, triggered once the client has sent `afterClientBytes` bytes (0: as soon as it connects);
 * bytes up to that point are forwarded, nothing after it.
 * - `stall`: forward nothing more in either direction, keep both sockets open;
 * - `close`: end both sockets gracefully (FIN);
 * - `reset`: reset the client's socket (RST) and drop the server's.
 */
export interface RelayFault {
  readonly kind: 'stall' | 'close' | 'reset'
  readonly afterClientBytes: number
}

/** What the relay saw of one client connection. */
export interface RelayedConnection {
  /** The first bytes the client sent (up to the relay's `recordBytes`). */
  readonly firstBytes: Buffer
  /** Every byte the client sent, counted. */
  readonly clientBytes: number
  /** Whether the fault was triggered on this connection. */
  readonly faulted: boolean
}

export interface TcpRelay {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Applied to connections accepted from now on; undefined relays faithfully. */
  fault: RelayFault | undefined
  /** Connections accepted so far, in order. */
  connections(): readonly RelayedConnection[]
  close(): Promise<void>
}

export interface RelayOptions {
  readonly fault?: RelayFault
  /** How many of the client's first bytes to keep; default 64. */
  readonly recordBytes?: number
}

/** The 8 bytes of PostgreSQL's SSLRequest: length 8, code 80877103. */
export const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
/** The first byte of a TLS record carrying a handshake message (a ClientHello when a client starts). */
export const TLS_HANDSHAKE_RECORD = 0x16

/** Starts a relay on 127.0.0.1, port 0 (the system picks a free one), forwarding to `target`. */
export async function startTcpRelay(target: { host: string; port: number }, options: RelayOptions = {}): Promise<TcpRelay> {
  const recordBytes = options.recordBytes ?? 64
  const seen: Array<{ firstBytes: Buffer; clientBytes: number; faulted: boolean }> = []
  const sockets = new Set<Socket>()
  const state = { fault: options.fault }

  const server = createServer((client) => {
    const record = { firstBytes: Buffer.alloc(0), clientBytes: 0, faulted: false }
    seen.push(record)
    const fault = state.fault
    const upstream = connect({ host: target.host, port: target.port })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { /* the other side is torn down on 'close' */ })
    }
    let stalled = false
    const trip = (): void => {
      record.faulted = true
      if (fault?.kind === 'stall') stalled = true
      else if (fault?.kind === 'close') { client.end(); upstream.end() }
      else if (fault?.kind === 'reset') { client.resetAndDestroy(); upstream.destroy() }
    }
    client.on('data', (chunk: Buffer) => {
      if (record.firstBytes.length < recordBytes) {
        record.firstBytes = Buffer.concat([record.firstBytes, chunk]).subarray(0, recordBytes)
      }
      const before = record.clientBytes
      record.clientBytes += chunk.length
      if (stalled || client.destroyed) return
      if (fault !== undefined && !record.faulted && record.clientBytes >= fault.afterClientBytes) {
        const room = fault.afterClientBytes - before
        if (room > 0) upstream.write(chunk.subarray(0, room))
        trip()
        return
      }
      if (!record.faulted) upstream.write(chunk)
    })
    upstream.on('data', (chunk: Buffer) => { if (!stalled && !record.faulted) client.write(chunk) })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => { if (!stalled) client.destroy() })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
    if (fault !== undefined && fault.afterClientBytes <= 0) trip()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  return {
    host: '127.0.0.1',
    port,
    get fault() { return state.fault },
    set fault(f: RelayFault | undefined) { state.fault = f },
    connections: () => seen.map((r) => ({ ...r })),
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}
