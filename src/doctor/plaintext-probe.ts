// Does the server accept connections without TLS? A client that verifies TLS protects itself; other
// clients of the same server may still log in in plaintext unless the server enforces TLS
// (require_secure_transport on Flexible Server, "Enforce SSL connection" on Single Server). The probe
// asks on a separate TCP connection with a plaintext StartupMessage for a random user name that
// cannot exist, reads the first answer only, and closes: no configured user, no password, no query.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

/** The verdict: the server answers plaintext logins, refuses them for want of TLS, or could not be told. */
export type PlaintextVerdict = 'not-enforced' | 'enforced' | 'unknown'

/** What the probe saw. */
export interface PlaintextProbeResult {
  readonly verdict: PlaintextVerdict
  /** The server's first answer in a few words (its error message, or the kind of message). */
  readonly answer: string
  /** The user name the probe sent (random, never the configured one). */
  readonly probeUser: string
}

/** A user name that cannot exist: random, and never `avoid` (the configured user). */
export function probeUserName(avoid: string | undefined, serverName?: string): string {
  let name: string
  do name = `azure_pg_tls_probe_${randomBytes(8).toString('hex')}`
  while (name === avoid)
  // Single Server's gateway wants user@server before it says anything else.
  return serverName === undefined ? name : `${name}@${serverName}`
}

/** A protocol 3.0 StartupMessage carrying only a user name (the database defaults to it). */
export function plaintextStartup(user: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(`user\0${user}\0\0`, 'utf8')])
  const length = Buffer.alloc(4)
  length.writeUInt32BE(body.length + 4)
  return Buffer.concat([length, body])
}

/** The fields of an ErrorResponse body: `C` (SQLSTATE), `M` (message), ... */
function errorFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>()
  let i = 0
  while (i < body.length && body[i] !== 0) {
    const type = String.fromCharCode(body[i] ?? 0)
    const end = body.indexOf(0, i + 1)
    if (end === -1) break
    fields.set(type, body.subarray(i + 1, end).toString('utf8'))
    i = end + 1
  }
  return fields
}

/** Reads the verdict from the server's first message (type byte, length, body). */
export function plaintextVerdict(first: Buffer | undefined): { verdict: PlaintextVerdict; answer: string } {
  if (first === undefined || first.length === 0) return { verdict: 'unknown', answer: 'the server closed the connection without an answer' }
  const type = String.fromCharCode(first[0] ?? 0)
  if (type === 'R') return { verdict: 'not-enforced', answer: 'the server asked for credentials over plaintext' }
  if (type !== 'E' || first.length < 5) return { verdict: 'unknown', answer: `an unexpected answer (first byte 0x${first.subarray(0, 1).toString('hex')})` }
  const fields = errorFields(first.subarray(5))
  const message = fields.get('M') ?? '(no message)'
  // PostgreSQL: `no pg_hba.conf entry for host "…", user "…", database "…", no encryption`; Single Server's gateway: "SSL connection is required".
  if (/no encryption|SSL off|SSL connection is required/i.test(message)) return { verdict: 'enforced', answer: message }
  if (/role .* does not exist/.test(message)) return { verdict: 'not-enforced', answer: message }
  return { verdict: 'unknown', answer: message }
}

/** The first whole message in `data`, if it has arrived (capped at 8 KiB: an answer is short). */
function firstMessage(data: Buffer): Buffer | undefined {
  if (data.length < 5) return undefined
  const length = Math.min(data.readUInt32BE(1) + 1, 8192)
  return data.length >= length ? data.subarray(0, length) : undefined
}

/** Sends the plaintext StartupMessage for `probeUser` to `address:port` and reads the first answer. */
export async function probePlaintext(address: string, port: number, probeUser: string, timeoutMs: number): Promise<PlaintextProbeResult> {
  const socket = connect({ host: address, port })
  let data = Buffer.alloc(0)
  try {
    const first = await new Promise<Buffer | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      const finish = (m: Buffer | undefined): void => { clearTimeout(timer); resolve(m) }
      socket.once('connect', () => socket.write(plaintextStartup(probeUser)))
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk])
        const m = firstMessage(data)
        if (m !== undefined || data.length >= 8192) finish(m ?? data)
      })
      socket.once('error', () => finish(undefined))
      socket.once('close', () => finish(data.length > 0 ? data : undefined))
    })
    const timedOut = first === undefined && data.length === 0 && !socket.destroyed && socket.readyState === 'open'
    const verdict = plaintextVerdict(first)
    return { ...verdict, answer: timedOut ? `no answer within ${timeoutMs} ms` : verdict.answer, probeUser }
  } finally {
    socket.destroy()
  }
}
