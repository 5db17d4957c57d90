// A TCP relay on 127.0.0.1 between a client and an upstream PostgreSQL that breaks connections at a
// chosen point of the PostgreSQL-over-TLS conversation. It cannot read the encrypted traffic, so it finds
// the phases from the clear parts: the 8-byte SSLRequest, the server's one-byte answer, and the TLS
// record headers (5 bytes each, in the clear), counted per direction.
import { connect, createServer, type Server, type Socket } from 'node:net'
import { listenOnLoopback, SocketSet } from './tcp-server.js'
import { RecordScanner, SSL_REQUEST, TLS_APPLICATION_DATA, TLS_HANDSHAKE } from './tls-records.js'

/**
 * Where in a connection the fault fires, in the order a connection reaches them:
 * - `accept`: as soon as the TCP connection is accepted (the upstream is never contacted);
 * - `ssl-request`: when the client's 8-byte SSLRequest has arrived (it is not passed on);
 * - `tls-handshake`: when the server's first TLS record comes back, mid-handshake (it is not passed on);
 * - `startup`: when the client's first application-data record after the handshake (the StartupMessage) arrives (not passed on);
 * - `auth`: when the client's next record after the startup (its first authentication answer, e.g. SCRAM's client-first) arrives (not passed on);
 * - `result`: after `afterBytes` bytes of the server's answer to the client's query record have reached the client.
 */
export const FAULT_PHASES = ['accept', 'ssl-request', 'tls-handshake', 'startup', 'auth', 'result'] as const
export type FaultPhase = (typeof FAULT_PHASES)[number]

/**
 * What the fault does to the client's connection:
 * - `rst`: TCP reset (RST), as a crashed middlebox or a killed server does;
 * - `stall`: stop relaying in both directions and keep both sockets open: a black hole;
 * - `close`: an orderly close (FIN) towards the client.
 */
export const FAULT_KINDS = ['rst', 'stall', 'close'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** One fault for every new connection until {@link FaultProxy.heal}. */
export interface FaultPlan {
  readonly phase: FaultPhase
  readonly fault: FaultKind
  /**
   * For `result`: how many bytes of the answer reach the client first (default 40 000). TLS records
   * carry up to 16 KiB and a client decrypts only whole records, so fewer bytes than the first record
   * holds break the connection before the client has seen any of the result.
   */
  readonly afterBytes?: number
  /**
   * For `result`: which client application-data record after the startup is the query (default 3: with
   * SCRAM the client sends client-first, client-final, then its first query).
   */
  readonly queryRecord?: number
}

/** What the proxy saw on one connection. */
export interface ConnectionRecord {
  readonly id: number
  /** In order: `accept`, `ssl-request`, `answer S`, `client-record 22`, `server-record 23`, `fault rst at startup`, … (capped). */
  readonly events: readonly string[]
  /** The fault that fired on this connection, if any. */
  readonly fired: { readonly phase: FaultPhase; readonly fault: FaultKind } | undefined
  /** Bytes passed on to the upstream and to the client. */
  readonly bytesUp: number
  readonly bytesDown: number
}

export interface FaultProxy {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Arms a fault for connections accepted from now on (replacing any armed one). */
  inject(plan: FaultPlan): void
  /** Connections accepted from now on are relayed untouched. Connections already broken stay broken. */
  heal(): void
  /** Every connection seen so far. */
  connections(): readonly ConnectionRecord[]
  /** Resolves with the next connection on which a fault fires; rejects after `timeoutMs`. */
  nextFault(timeoutMs?: number): Promise<ConnectionRecord>
  /** Destroys every socket (stalled ones too) and stops listening. */
  close(): Promise<void>
}

const MAX_EVENTS = 200

interface Relay {
  record: { id: number; events: string[]; fired: ConnectionRecord['fired']; bytesUp: number; bytesDown: number }
  client: Socket
  upstream: Socket | undefined
}

/** Starts a relay on a free port of 127.0.0.1 to `upstreamPort`, optionally with a fault armed. */
export async function startFaultProxy(options: { upstreamPort: number; upstreamHost?: string; fault?: FaultPlan }): Promise<FaultProxy> {
  const upstreamHost = options.upstreamHost ?? '127.0.0.1'
  let plan: FaultPlan | undefined = options.fault
  const sockets = new SocketSet()
  const records: Relay['record'][] = []
  const faultWaiters = new Set<(r: ConnectionRecord) => void>()
  let nextId = 1

  const server: Server = createServer((client) => { handle(client, plan) })

  function handle(client: Socket, armed: FaultPlan | undefined): void {
    const record: Relay['record'] = { id: nextId++, events: ['accept'], fired: undefined, bytesUp: 0, bytesDown: 0 }
    records.push(record)
    const relay: Relay = { record, client, upstream: undefined }
    sockets.track(client)
    const note = (e: string): void => { if (record.events.length < MAX_EVENTS) record.events.push(e) }
    let broken = false
    client.on('close', () => { relay.upstream?.destroy() })

    const fire = (phase: FaultPhase): void => {
      if (armed === undefined) return
      broken = true
      record.fired = { phase, fault: armed.fault }
      note(`fault ${armed.fault} at ${phase}`)
      if (armed.fault === 'rst') {
        client.resetAndDestroy()
        relay.upstream?.destroy()
      } else if (armed.fault === 'close') {
        client.end()
        relay.upstream?.destroy()
      }
      // 'stall': nothing more is relayed; both sockets stay open until either side or close() ends them.
      for (const w of faultWaiters) w({ ...record, events: [...record.events] })
      faultWaiters.clear()
    }
    const wants = (phase: FaultPhase): boolean => armed?.phase === phase

    if (wants('accept')) {
      fire('accept')
      // Read (and drop) what the client sends, so that its close is seen and this socket closes too.
      client.resume()
      return
    }
    const upstream = connect({ host: upstreamHost, port: options.upstreamPort })
    relay.upstream = upstream
    sockets.track(upstream)
    upstream.on('close', () => { if (!broken) client.destroy() })

    // What the proxy knows about the conversation so far.
    let stage: 'first-bytes' | 'await-answer' | 'tls' | 'opaque' = 'first-bytes'
    let pending = Buffer.alloc(0)
    const clientRecords = new RecordScanner()
    const serverRecords = new RecordScanner()
    let serverRecordCount = 0
    let clientAppRecords = 0
    // TLS 1.3 encrypts the server's handshake messages and the client's Finished as application data;
    // a server application-data record before the client's first one means TLS 1.3 is in use.
    let tls13 = false
    let queryAt: number | undefined
    let resultBytes = 0

    const send = (to: Socket, from: Socket, data: Buffer, counter: 'bytesUp' | 'bytesDown'): void => {
      if (data.length === 0) return
      record[counter] += data.length
      if (!to.write(data)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    }

    const fromClient = (chunk: Buffer): void => {
      if (broken) return
      if (stage === 'first-bytes') {
        pending = Buffer.concat([pending, chunk])
        if (pending[0] === TLS_HANDSHAKE) {
          note('direct-tls')
          stage = 'tls'
          chunk = pending
        } else if (pending.length < 8) {
          return
        } else if (pending.subarray(0, 8).equals(SSL_REQUEST)) {
          note('ssl-request')
          if (wants('ssl-request')) return fire('ssl-request')
          stage = 'await-answer'
          send(upstream, client, pending, 'bytesUp')
          return
        } else {
          note('not-ssl-request')
          stage = 'opaque'
          chunk = pending
        }
      }
      if (stage === 'tls') {
        const startupIndex = tls13 ? 2 : 1
        for (const { offset, type } of clientRecords.scan(chunk)) {
          note(`client-record ${type}`)
          if (type !== TLS_APPLICATION_DATA) continue
          clientAppRecords++
          const phase: FaultPhase | undefined = clientAppRecords === startupIndex ? 'startup'
            : clientAppRecords === startupIndex + 1 ? 'auth' : undefined
          if (phase !== undefined && wants(phase)) {
            send(upstream, client, chunk.subarray(0, offset), 'bytesUp')
            return fire(phase)
          }
          if (clientAppRecords === startupIndex + (armed?.queryRecord ?? 3)) queryAt = record.bytesDown
        }
      }
      send(upstream, client, chunk, 'bytesUp')
    }

    const fromServer = (chunk: Buffer): void => {
      if (broken) return
      if (stage === 'await-answer') {
        const answer = String.fromCharCode(chunk[0] ?? 0)
        note(`answer ${answer}`)
        stage = answer === 'S' ? 'tls' : 'opaque'
        send(client, upstream, chunk.subarray(0, 1), 'bytesDown')
        chunk = chunk.subarray(1)
      }
      if (stage === 'tls') {
        for (const { offset, type } of serverRecords.scan(chunk)) {
          note(`server-record ${type}`)
          serverRecordCount++
          if (type === TLS_APPLICATION_DATA && clientAppRecords === 0) tls13 = true
          if (serverRecordCount === 1 && wants('tls-handshake')) {
            send(client, upstream, chunk.subarray(0, offset), 'bytesDown')
            return fire('tls-handshake')
          }
        }
        if (queryAt !== undefined && wants('result')) {
          const limit = armed?.afterBytes ?? 40_000
          const room = limit - resultBytes
          if (chunk.length >= room) {
            send(client, upstream, chunk.subarray(0, room), 'bytesDown')
            resultBytes = limit
            return fire('result')
          }
          resultBytes += chunk.length
        }
      }
      send(client, upstream, chunk, 'bytesDown')
    }

    client.on('data', fromClient)
    upstream.on('data', fromServer)
    client.on('end', () => { if (!broken) upstream.end() })
    upstream.on('end', () => { if (!broken) client.end() })
  }

  const port = await listenOnLoopback(server)
  const snapshot = (r: Relay['record']): ConnectionRecord => ({ ...r, events: [...r.events] })

  return {
    host: '127.0.0.1',
    port,
    inject: (p) => { plan = p },
    heal: () => { plan = undefined },
    connections: () => records.map(snapshot),
    nextFault: (timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        faultWaiters.delete(done)
        reject(new Error(`no fault fired within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (r: ConnectionRecord): void => {
        clearTimeout(timer)
        resolve(r)
      }
      faultWaiters.add(done)
    }),
    close: () => sockets.close(server),
  }
}
