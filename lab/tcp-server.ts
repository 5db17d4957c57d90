// What the lab's TCP stand-ins share: listening on a free port of 127.0.0.1, and closing with every
// socket they hold destroyed (a server's close() waits for open connections, which a stalled one never ends).
import type { Server, Socket } from 'node:net'

/** Listens on a free port of 127.0.0.1 and resolves with it. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  return typeof addr === 'object' && addr !== null ? addr.port : 0
}

/** Sockets kept until they close (their errors swallowed: the peer's behaviour is the test's business). */
export class SocketSet {
  private readonly sockets = new Set<Socket>()

  track(socket: Socket): Socket {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => undefined)
    return socket
  }

  /** Destroys every socket held now. */
  destroyAll(): void {
    for (const s of this.sockets) s.destroy()
  }

  /** Destroys every socket, then closes the server. */
  async close(server: Server): Promise<void> {
    this.destroyAll()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
