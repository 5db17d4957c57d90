// A tiny authoritative DNS server on 127.0.0.1 (UDP) answering A queries from a fixed table, so the
// doctor's DNS step can be tested with real DNS messages without leaving the machine.
import { createSocket, type Socket } from 'node:dgram'

export interface DnsServer {
  readonly address: string
  close(): Promise<void>
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = []
  let i = offset
  while (msg[i] !== 0 && i < msg.length) {
    const len = msg[i] ?? 0
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'))
    i += len + 1
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 }
}

export async function startDnsServer(records: Readonly<Record<string, readonly string[]>>): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4')
  socket.on('message', (msg, peer) => {
    const { name, end } = readName(msg, 12)
    const qtype = msg.readUInt16BE(end)
    const question = msg.subarray(12, end + 4)
    const addresses = qtype === 1 ? records[name] ?? [] : []
    const header = Buffer.alloc(12)
    msg.copy(header, 0, 0, 2) // id
    header.writeUInt16BE(0x8180 | (records[name] === undefined ? 3 : 0), 2) // response, RD+RA, NXDOMAIN if unknown
    header.writeUInt16BE(1, 4)
    header.writeUInt16BE(addresses.length, 6)
    const answers = addresses.map((a) => {
      const rr = Buffer.alloc(16)
      rr.writeUInt16BE(0xc00c, 0) // pointer to the question's name
      rr.writeUInt16BE(1, 2)
      rr.writeUInt16BE(1, 4)
      rr.writeUInt32BE(60, 6)
      rr.writeUInt16BE(4, 10)
      a.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i))
      return rr
    })
    socket.send(Buffer.concat([header, question, ...answers]), peer.port, peer.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {
    address: `127.0.0.1:${socket.address().port}`,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}
