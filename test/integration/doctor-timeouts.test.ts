// The doctor never hangs: --timeout bounds every step, the login included, and the checklist is
// printed step by step as each one finishes.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { runDoctor, type StepResult } from '../../src/doctor/run-doctor.js'
import { startFakeTlsServer, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { AZURE_HOST, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { runCliCaptured } from '../support/cli.js'

let lab: Lab
let stalling: FakeTlsServer

before(async () => {
  lab = await startLab([])
  // Completes TLS with a certificate the doctor trusts, then never answers the login.
  stalling = await startFakeTlsServer('handshake-then-silent', await issueServerCertificate(lab.issuer, { dnsNames: [AZURE_HOST] }))
})
after(async () => {
  await stalling?.close()
  await lab?.stop()
})

const conninfo = (port: number): string => `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${port} user=myadmin dbname=postgres sslrootcert=${lab.rootPath}`

describe('doctor time limits', () => {
  it('bounds the login by --timeout: a server that completes TLS and then says nothing fails at authentication', async () => {
    const seen: StepResult[] = []
    const report = await runDoctor({
      options: { connectionString: conninfo(stalling.port), password: 'not-sent-anywhere-useful', env: {} },
      timeoutMs: 600,
      onStep: (s) => seen.push(s),
    })
    assert.deepEqual(report.steps.map((s) => [s.step, s.status]), [
      ['configuration', 'pass'], ['dns', 'pass'], ['tcp', 'pass'], ['tls-request', 'pass'], ['tls-handshake', 'pass'], ['plaintext-probe', 'skip'], ['authentication', 'fail'],
    ])
    assert.equal(report.steps.at(-1)?.code, 'CONNECTION_FAILED')
    assert.deepEqual(seen, report.steps, 'each step was reported as it finished, in order')
  })

  it('prints the title first and each step as it finishes, then the verdict', async () => {
    const { code, outLines: out } = await runCliCaptured(['doctor', conninfo(stalling.port), '--timeout', '600', '--password-stdin'], {
      stdin: async () => 'a-password\n',
    })
    assert.equal(code, 1)
    assert.equal(out[0], 'azure-pg-tls doctor')
    assert.match(out[1] ?? '', /^✓ configuration/)
    assert.match(out.at(-2) ?? '', /^✗ authentication/)
    assert.equal(out.at(-1), 'Stopped at the first failure (authentication).')
  })
})
