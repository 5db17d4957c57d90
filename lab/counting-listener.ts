import { createServer, type Server } from 'node:net'
import { listenOnLoopback, SocketSet } from './tcp-server.js'

/** A TCP listener on 127.0.0.1 that counts the connections it receives and answers nothing. */
export interface CountingListener {
  readonly port: number
  connections(): number
  close(): Promise<void>
}

export async function startCountingListener(): Promise<CountingListener> {
  let count = 0
  const sockets = new SocketSet()
  const server: Server = createServer((socket) => {
    count++
    sockets.track(socket)
  })
  const port = await listenOnLoopback(server)
  return {
    port,
    connections: () => count,
    close: () => sockets.close(server),
  }
}
