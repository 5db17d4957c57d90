import { createServer, type Server, type Socket } from 'node:net'

/** A TCP listener on 127.0.0.1 that counts the connections it receives and answers nothing. */
export interface CountingListener {
  readonly port: number
  connections(): number
  close(): Promise<void>
}

export async function startCountingListener(): Promise<CountingListener> {
  let count = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    count++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0
  return {
    port,
    connections: () => count,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}
