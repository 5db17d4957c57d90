// What the lab's TCP stand-ins share: listening on a free port of 127.0.0.1, and closing with every
// socket they hold destroyed (a server's close() waits for open connections, which a stalled one never ends).
import { randomInt } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer, type Server, type Socket } from 'node:net'

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

/**
 * A port of 127.0.0.1 that refuses connections and stays so: one free now, below the range the system hands
 * out for `listen(0)` and outgoing connections (`ip_local_port_range`). A port taken from that range and
 * closed again (freePort) can be handed to the next server any test starts, and the "down" server is up.
 */
export async function refusingPort(): Promise<number> {
  const range = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999')
  const low = Number.parseInt(range.trim().split(/\s+/)[0] ?? '', 10)
  const ceiling = Number.isInteger(low) && low > 2048 ? low : 32768
  for (let tries = 0; tries < 50; tries++) {
    const port = 1024 + randomInt(ceiling - 1024)
    if (await canListen(port)) return port
  }
  throw new Error('no free port below the ephemeral range after 50 tries')
}

/** Whether a server could listen on `port` of 127.0.0.1 now (it is closed again at once). */
async function canListen(port: number): Promise<boolean> {
  const server = createServer()
  return new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
