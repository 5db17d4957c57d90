// An interceptor on 127.0.0.1: what anything holding a certificate that chains to a trusted root can do
// (a TLS-inspecting proxy, a mis-issued certificate). It answers the client's SSLRequest, completes TLS
// with its own certificate, opens its own TLS session to the real server, and relays the plaintext
// between the two. Verified TLS cannot tell; a SCRAM login bound to the client's TLS session
// (SCRAM-SHA-256-PLUS) can, and it is the server that refuses it.
import { connect as netConnect, createServer, type Socket } from 'node:net'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import type { TlsFiles } from './postgres-server.js'
import { listenOnLoopback, SocketSet } from './tcp-server.js'
import { SSL_REQUEST } from './tls-records.js'

export interface TlsInterceptor {
  readonly host: '127.0.0.1'
  readonly port: number
  /** Connections relayed to the server so far (both TLS sessions up). */
  relayed(): number
  close(): Promise<void>
}

/** Starts an interceptor presenting `tls` to clients and relaying to `upstream` (a lab PostgreSQL). */
export async function startTlsInterceptor(upstream: { readonly host: string; readonly port: number }, tls: TlsFiles): Promise<TlsInterceptor> {
  const sockets = new SocketSet()
  let relayed = 0
  const server = createServer((client: Socket) => {
    sockets.track(client)
    client.once('data', (first: Buffer) => {
      if (!first.equals(SSL_REQUEST)) {
        client.destroy()
        return
      }
      client.write('S')
      const inner = new TLSSocket(client, { isServer: true, cert: tls.certChainPem, key: tls.keyPem })
      sockets.track(inner)
      // What the client says before the server side is up waits here.
      const pending: Buffer[] = []
      const early = (d: Buffer): void => { pending.push(d) }
      inner.on('data', early)
      const up = sockets.track(netConnect({ host: upstream.host, port: upstream.port }))
      up.once('connect', () => up.write(SSL_REQUEST))
      up.once('data', (answer: Buffer) => {
        if (answer[0] !== 0x53) {
          inner.destroy()
          up.destroy()
          return
        }
        // The interceptor does not care whom it talks to: it only needs the server's plaintext.
        const outer = tlsConnect({ socket: up, rejectUnauthorized: false })
        sockets.track(outer)
        outer.once('secureConnect', () => {
          relayed++
          inner.removeListener('data', early)
          for (const d of pending) outer.write(d)
          inner.on('data', (d: Buffer) => outer.write(d))
          outer.on('data', (d: Buffer) => inner.write(d))
          inner.once('close', () => outer.destroy())
          outer.once('close', () => inner.destroy())
        })
      })
      up.once('close', () => inner.destroy())
      inner.once('close', () => up.destroy())
    })
  })
  const port = await listenOnLoopback(server)
  return { host: '127.0.0.1', port, relayed: () => relayed, close: () => sockets.close(server) }
}
