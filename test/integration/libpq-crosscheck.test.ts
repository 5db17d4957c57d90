// A second opinion from libpq (Debian's psql): the lab's servers are what the tests say they are, so
// azure-pg-tls's verdicts match libpq's sslmode=verify-full on the same servers.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createAzurePgClient, AzurePgError } from '../../src/index.js'
import { AZURE_HOST, LAB_CONNECT_TIMEOUT_MS, LOGINS, startLab, type Lab, type ServerKind } from '../../lab/lab.js'
import { assertPsqlPresent } from '../support/preconditions.js'

const run = promisify(execFile)

async function psqlAccepts(lab: Lab, kind: ServerKind): Promise<{ ok: boolean; output: string }> {
  const conninfo = `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${lab.server(kind).port} dbname=postgres user=myadmin sslmode=verify-full sslrootcert=${lab.rootPath}`
  try {
    const { stdout } = await run('psql', [conninfo, '-XAtc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
      env: { PATH: process.env['PATH'], PGPASSWORD: LOGINS.flexible.password, PGCONNECT_TIMEOUT: '10' }, timeout: 30_000,
    })
    return { ok: true, output: stdout }
  } catch (err) {
    return { ok: false, output: String((err as { stderr?: string }).stderr ?? err) }
  }
}

/** The SDK's verdict: 'accepted', or the refusal's code and reason, e.g. 'TLS_VERIFY_FAILED/hostname'. */
async function sdkVerdict(lab: Lab, kind: ServerKind): Promise<string> {
  const client = await createAzurePgClient({
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server(kind).port, database: 'postgres',
    user: 'myadmin', password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: LAB_CONNECT_TIMEOUT_MS,
  })
  try {
    await client.connect()
    await client.end()
    return 'accepted'
  } catch (err) {
    if (err instanceof AzurePgError) return err.reason === undefined ? err.code : `${err.code}/${err.reason}`
    throw err
  }
}

describe('libpq agrees with azure-pg-tls', () => {
  let lab: Lab
  before(async () => {
    await assertPsqlPresent()
    lab = await startLab(['good', 'impostor', 'wrongName', 'expired', 'tlsOff'])
  })
  after(async () => { await lab?.stop() })

  // The same verdict for the same reason: libpq's message and the SDK's code and reason each name it.
  const expected: Array<[ServerKind, string, RegExp]> = [
    ['good', 'accepted', /^t$/m],
    ['impostor', 'TLS_VERIFY_FAILED/unknown-ca', /certificate verify failed/],
    ['wrongName', 'TLS_VERIFY_FAILED/hostname', /does not match host name|server certificate for/],
    ['expired', 'TLS_VERIFY_FAILED/expired', /certificate has expired|certificate verify failed/],
    ['tlsOff', 'SERVER_REFUSED_TLS', /server does not support SSL/],
  ]
  for (const [kind, verdict, psqlSays] of expected) {
    it(`${kind} server: ${verdict === 'accepted' ? 'accepted' : 'refused'} by both (${verdict})`, async () => {
      const psql = await psqlAccepts(lab, kind)
      assert.equal(psql.ok, verdict === 'accepted', psql.output)
      assert.match(psql.output, psqlSays)
      assert.equal(await sdkVerdict(lab, kind), verdict)
    })
  }
})
