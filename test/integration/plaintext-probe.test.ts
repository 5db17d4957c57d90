// The doctor's plaintext probe: does the server accept logins without TLS? Against real PostgreSQL 18
// servers, one enforcing TLS (hostssl only, the lab default) and one also allowing plaintext (a `host`
// line), through a recording relay that proves what the probe sends; scripted TCP servers for the
// answers a lab PostgreSQL cannot give (Single Server's gateway). And the PgBouncer port notes.
import assert from 'node:assert/strict'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { resolveOptions } from '../../src/config/resolve.js'
import type { DoctorReport } from '../../src/doctor/run-doctor.js'
import { poolerNote } from '../../src/doctor/notes.js'
import { plaintextVerdict, probePlaintext } from '../../src/doctor/plaintext-probe.js'
import { AZURE_HOST, LOGINS, createLogins, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { SSL_REQUEST } from '../../lab/tls-records.js'
import { runCliCaptured } from '../support/cli.js'

/** A relay to a server that keeps every byte each client connection sent. */
interface Recorder { port: number; sent(): Buffer[]; close(): Promise<void> }

async function startRecorder(upstreamPort: number | undefined, answer?: Buffer): Promise<Recorder> {
  const received: Buffer[] = []
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const index = received.push(Buffer.alloc(0)) - 1
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => undefined)
    const upstream = upstreamPort === undefined ? undefined : connect({ host: '127.0.0.1', port: upstreamPort })
    if (upstream !== undefined) {
      sockets.add(upstream)
      upstream.on('error', () => undefined)
      upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
      upstream.pipe(client)
      client.on('close', () => upstream.destroy())
    }
    client.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index] ?? Buffer.alloc(0), chunk])
      if (upstream !== undefined) upstream.write(chunk)
      else if (answer !== undefined) client.end(answer)
      else client.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as { port: number }).port,
    sent: () => [...received],
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()) }),
  }
}

/** An ErrorResponse with severity, SQLSTATE and message, as a server sends it. */
function errorResponse(code: string, message: string): Buffer {
  const body = Buffer.from(`SFATAL\0C${code}\0M${message}\0\0`, 'utf8')
  const head = Buffer.alloc(5)
  head.write('E', 0, 'latin1')
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const PROTOCOL_3 = Buffer.from([0, 3, 0, 0])

describe('doctor: plaintext probe', () => {
  let lab: Lab
  let open: RunningPostgres

  before(async () => {
    lab = await startLab(['good'])
    // TLS on, and plaintext allowed too: an Azure server with require_secure_transport off.
    open = await startPostgres({
      tls: await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }),
      hba: 'hostssl all all 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n',
    })
    await createLogins(open)
  })
  after(async () => {
    await open?.stop()
    await lab?.stop()
  })

  /** The doctor's --json report, and (unless `jsonOnly`) its text form from a second run. */
  async function doctor(port: number, extra: string[] = [], jsonOnly = false): Promise<{ code: number; report: DoctorReport; text: string }> {
    const args = ['doctor', `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${port} dbname=postgres user=${LOGINS.flexible.user} sslrootcert=${lab.rootPath}`, '--password-stdin', ...extra]
    const stdin = async (): Promise<string> => `${LOGINS.flexible.password}\n`
    const { code, out } = await runCliCaptured([...args, '--json'], { stdin })
    const text = jsonOnly ? '' : (await runCliCaptured(args, { stdin })).out
    return { code, report: JSON.parse(out) as DoctorReport, text }
  }

  it('hostssl only (TLS enforced): pass, "enforced" in --json', async () => {
    const { code, report, text } = await doctor(lab.server('good').port)
    assert.equal(code, 0)
    assert.equal(report.plaintext, 'enforced')
    const step = report.steps.find((s) => s.step === 'plaintext-probe')!
    assert.equal(step.status, 'pass')
    assert.match(step.summary, /^TLS enforced/)
    assert.ok(step.details.some((d) => /no pg_hba\.conf entry .* no encryption/.test(d)), step.details.join('\n'))
    assert.match(text, /^✓ plaintext probe +TLS enforced/m)
  })

  it('a `host` line too (plaintext accepted): a warning with the commands that enforce TLS; the doctor still passes', async () => {
    const { code, report, text } = await doctor(open.port)
    assert.equal(code, 0, 'a warning is not a failure')
    assert.equal(report.ok, true)
    assert.equal(report.plaintext, 'not-enforced')
    const step = report.steps.find((s) => s.step === 'plaintext-probe')!
    assert.equal(step.status, 'warn')
    assert.match(step.summary, /TLS not enforced/)
    assert.ok(step.details.some((d) => /asked for credentials over plaintext/.test(d)), step.details.join('\n'))
    assert.match(step.fix ?? '', /az postgres flexible-server parameter set .*--name require_secure_transport --value on/)
    assert.match(step.fix ?? '', /--ssl-enforcement Enabled/)
    assert.match(text, /^! plaintext probe +TLS not enforced/m)
    // The steps after it still ran: the login works over TLS.
    assert.deepEqual(report.steps.slice(-2).map((s) => [s.step, s.status]), [['authentication', 'pass'], ['server', 'pass']])
  })

  it('sends neither the configured user nor any password: a recording relay sees one plaintext StartupMessage for a random user', async () => {
    const recorder = await startRecorder(open.port)
    try {
      const { report } = await doctor(recorder.port, [], true)
      assert.equal(report.plaintext, 'not-enforced', 'the relay passed the probe on to the server')
      const plaintext = recorder.sent().filter((b) => !b.subarray(0, 8).equals(SSL_REQUEST))
      assert.equal(plaintext.length, 1, 'one plaintext connection')
      const startup = plaintext[0]!
      assert.deepEqual(startup.subarray(4, 8), PROTOCOL_3)
      assert.equal(startup.readUInt32BE(0), startup.length, 'the StartupMessage, and nothing after it')
      assert.match(startup.toString('latin1'), /\0user\0azure_pg_tls_probe_[0-9a-f]{16}\0\0$/)
      for (const bytes of recorder.sent()) {
        const text = bytes.toString('latin1')
        assert.ok(!text.includes(LOGINS.flexible.user), 'the configured user never travels in the clear')
        assert.ok(!text.includes(LOGINS.flexible.password), 'the password never travels in the clear')
      }
      // The TLS connections (SSLRequest first) went through the same relay: the recording saw them too.
      assert.ok(recorder.sent().length >= 3, `${recorder.sent().length} connections`)
    } finally {
      await recorder.close()
    }
  })

  it('--no-plaintext-probe: skipped, no plaintext connection at all', async () => {
    const recorder = await startRecorder(open.port)
    try {
      const { report } = await doctor(recorder.port, ['--no-plaintext-probe'], true)
      assert.equal(report.plaintext, undefined)
      assert.deepEqual(report.steps.find((s) => s.step === 'plaintext-probe'), { step: 'plaintext-probe', status: 'skip', summary: 'skipped (--no-plaintext-probe)', details: [] })
      assert.deepEqual(recorder.sent().filter((b) => !b.subarray(0, 8).equals(SSL_REQUEST)), [])
    } finally {
      await recorder.close()
    }
  })

  it('reads other answers: Single Server\'s "SSL connection is required", "role does not exist", anything else, silence', async () => {
    const cases: Array<[Buffer | undefined, string, RegExp]> = [
      [errorResponse('08004', 'SSL connection is required. Please specify SSL options and retry.'), 'enforced', /SSL connection is required/],
      [errorResponse('28000', 'role "azure_pg_tls_probe_x" does not exist'), 'not-enforced', /does not exist/],
      [errorResponse('53300', 'sorry, too many clients already'), 'unknown', /too many clients/],
      [Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), 'unknown', /unexpected answer/],
      [undefined, 'unknown', /closed the connection without an answer/],
    ]
    for (const [answer, verdict, words] of cases) {
      const server = await startRecorder(undefined, answer)
      try {
        const r = await probePlaintext('127.0.0.1', server.port, 'azure_pg_tls_probe_x', 5000)
        assert.equal(r.verdict, verdict, r.answer)
        assert.match(r.answer, words)
        assert.deepEqual(server.sent()[0]?.subarray(4, 8), PROTOCOL_3)
      } finally {
        await server.close()
      }
    }
    assert.equal(plaintextVerdict(Buffer.from('R\0\0\0\x08\0\0\0\0', 'latin1')).verdict, 'not-enforced')
  })
})

describe('doctor: PgBouncer ports', () => {
  const note = (port: number): string[] => poolerNote(resolveOptions({ host: AZURE_HOST, port, user: 'myadmin', env: {} }))
  it('6432 is the Flexible Server built-in PgBouncer, 8432 elastic clusters\' PgBouncer, 5432 neither', () => {
    assert.match(note(6432).join(), /^port 6432: PgBouncer's port on Azure Flexible Server \(the built-in PgBouncer\): transaction pooling/)
    assert.match(note(8432).join(), /^port 8432: PgBouncer's port on Azure elastic clusters/)
    assert.deepEqual(note(5432), [])
  })
})
