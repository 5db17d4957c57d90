// A TCP relay on 127.0.0.1 that makes loopback look like a network: every chunk, in each direction,
// is passed on `delayMs` after it arrived (so one round trip costs 2 × delayMs), in order. It records
// a timeline of the chunks of every connection, classified from what can be read from the outside
// (the SSLRequest, the server's answer byte, TLS record headers), from which round trips are counted
// (lab/round-trips.ts). TCP's own handshake happens on loopback and is not delayed.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { SocketSet, listenOnLoopback } from './tcp-server.js'
import { RecordScanner, SSL_REQUEST, TLS_ALERT, TLS_APPLICATION_DATA, TLS_CHANGE_CIPHER_SPEC, TLS_HANDSHAKE } from './tls-records.js'

/** Which way a chunk went: client to server, or server to client. */
export type Direction = 'c2s' | 's2c'

/** What a chunk carried, as far as the outside can tell. */
export type ChunkKind =
  | 'ssl-request'
  /** The server's one-byte answer to an SSLRequest (`S` or `N`). */
  | 'ssl-answer'
  | 'tls-handshake' | 'tls-appdata' | 'tls-ccs' | 'tls-alert'
  /** The rest of a TLS record that started in an earlier chunk. */
  | 'tls-continued'
  /** PostgreSQL protocol in the clear (a startup packet, an `N` server's conversation). */
  | 'plain'

/** One chunk as the proxy received it. */
export interface TimelineChunk {
  readonly dir: Direction
  /** When it reached the proxy, in `performance.now()` milliseconds (it is passed on `delayMs` later). */
  readonly t: number
  readonly bytes: number
  /** The first thing that starts in the chunk (see {@link ChunkKind}). */
  readonly kind: ChunkKind
  /** Every TLS record that starts in the chunk, in order: content type, and whole length when known. */
  readonly records: readonly TlsRecord[]
}

/** A TLS record header as read in passing. */
export interface TlsRecord {
  readonly type: number
  /** Header included; unknown when the header was split across chunks. */
  readonly length?: number
}

/** The timeline of one relayed connection. */
export interface ConnectionTimeline {
  readonly id: number
  /** When the proxy accepted the client's TCP connection (`performance.now()` milliseconds). */
  readonly acceptedAt: number
  readonly delayMs: number
  /** Whether the client opened with direct TLS (a ClientHello instead of an SSLRequest). */
  readonly directTls: boolean
  readonly chunks: readonly TimelineChunk[]
}

export interface DelayProxy {
  readonly host: '127.0.0.1'
  readonly port: number
  /** One-way delay in milliseconds; changes apply to chunks arriving from then on. */
  delayMs: number
  /** Every connection seen so far (snapshots). */
  connections(): readonly ConnectionTimeline[]
  /** Forgets the connections recorded so far. */
  reset(): void
  close(): Promise<void>
}

const KIND_OF_RECORD: Readonly<Record<number, ChunkKind>> = {
  [TLS_HANDSHAKE]: 'tls-handshake',
  [TLS_APPLICATION_DATA]: 'tls-appdata',
  [TLS_CHANGE_CIPHER_SPEC]: 'tls-ccs',
  [TLS_ALERT]: 'tls-alert',
}

interface Recording {
  id: number
  acceptedAt: number
  delayMs: number
  directTls: boolean
  chunks: TimelineChunk[]
}

/** Starts the proxy on a free port of 127.0.0.1, relaying to `upstreamPort` with `delayMs` each way. */
export async function startDelayProxy(options: { upstreamPort: number; upstreamHost?: string; delayMs: number }): Promise<DelayProxy> {
  const state = { delayMs: options.delayMs }
  let recordings: Recording[] = []
  const sockets = new SocketSet()
  let nextId = 1

  const server: Server = createServer((client) => {
    const rec: Recording = { id: nextId++, acceptedAt: performance.now(), delayMs: state.delayMs, directTls: false, chunks: [] }
    recordings.push(rec)
    sockets.track(client)
    const upstream = connect({ host: options.upstreamHost ?? '127.0.0.1', port: options.upstreamPort })
    sockets.track(upstream)

    // The clear-text state of the conversation: before TLS, waiting for the answer byte, inside TLS.
    let stage: 'first-bytes' | 'await-answer' | 'tls' | 'plain' = 'first-bytes'
    const scanners: Record<Direction, RecordScanner> = { c2s: new RecordScanner(), s2c: new RecordScanner() }

    const classify = (dir: Direction, chunk: Buffer, t: number): void => {
      let kind: ChunkKind = 'plain'
      let tlsPart = chunk
      if (dir === 'c2s' && stage === 'first-bytes') {
        if (chunk[0] === TLS_HANDSHAKE) {
          rec.directTls = true
          stage = 'tls'
        } else if (chunk.length >= 8 && chunk.subarray(0, 8).equals(SSL_REQUEST)) {
          stage = 'await-answer'
          rec.chunks.push({ dir, t, bytes: chunk.length, kind: 'ssl-request', records: [] })
          return
        } else {
          stage = 'plain'
        }
      } else if (dir === 's2c' && stage === 'await-answer') {
        stage = chunk[0] === 0x53 ? 'tls' : 'plain'
        kind = 'ssl-answer'
        tlsPart = stage === 'tls' ? chunk.subarray(1) : Buffer.alloc(0)
      }
      const records: TlsRecord[] = stage === 'tls' ? scanners[dir].scan(tlsPart).map(({ type, length }) => (length === undefined ? { type } : { type, length })) : []
      if (kind !== 'ssl-answer' && stage === 'tls') {
        const first = records[0]?.type
        kind = first === undefined ? 'tls-continued' : KIND_OF_RECORD[first] ?? 'plain'
      }
      rec.chunks.push({ dir, t, bytes: chunk.length, kind, records })
    }

    const relay = (dir: Direction, from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        classify(dir, chunk, performance.now())
        // Timers of equal duration fire in the order they were set, so the byte stream keeps its order.
        setTimeout(() => { if (!to.destroyed) to.write(chunk) }, state.delayMs)
      })
      from.on('end', () => { setTimeout(() => { if (!to.destroyed) to.end() }, state.delayMs) })
      from.on('close', () => { setTimeout(() => to.destroy(), state.delayMs) })
    }
    relay('c2s', client, upstream)
    relay('s2c', upstream, client)
  })
  const port = await listenOnLoopback(server)
  return {
    host: '127.0.0.1',
    port,
    get delayMs() { return state.delayMs },
    set delayMs(ms: number) { state.delayMs = ms },
    connections: () => recordings.map((r) => ({ ...r, chunks: [...r.chunks] })),
    reset: () => { recordings = [] },
    close: () => sockets.close(server),
  }
}
