// A second opinion from libpq (Debian's psql): the lab's servers are what the tests say they are, so
// azure-pg-tls's verdicts match libpq's sslmode=verify-full on the same servers.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createAzurePgClient, AzurePgError } from '../../src/index.js'
import { AZURE_HOST, LOGINS, startLab, type Lab, type ServerKind } from '../../lab/lab.js'

const run = promisify(execFile)

async function psqlAccepts(lab: Lab, kind: ServerKind): Promise<{ ok: boolean; output: string }> {
  const conninfo = `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${lab.server(kind).port} dbname=postgres user=myadmin sslmode=verify-full sslrootcert=${lab.rootPath}`
  try {
    const { stdout } = await run('psql', [conninfo, '-XAtc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
      env: { PATH: process.env['PATH'], PGPASSWORD: LOGINS.flexible.password, PGCONNECT_TIMEOUT: '10' },
    })
    return { ok: true, output: stdout }
  } catch (err) {
    return { ok: false, output: String((err as { stderr?: string }).stderr ?? err) }
  }
}

async function sdkAccepts(lab: Lab, kind: ServerKind): Promise<boolean> {
  const client = await createAzurePgClient({
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: lab.server(kind).port, database: 'postgres',
    user: 'myadmin', password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
  })
  try {
    await client.connect()
    await client.end()
    return true
  } catch (err) {
    if (err instanceof AzurePgError) return false
    throw err
  }
}

describe('libpq agrees with azure-pg-tls', () => {
  let lab: Lab
  before(async () => { lab = await startLab(['good', 'impostor', 'wrongName', 'expired', 'tlsOff']) })
  after(async () => { await lab?.stop() })

  const expected: Array<[ServerKind, boolean, RegExp]> = [
    ['good', true, /^t$/m],
    ['impostor', false, /certificate verify failed/],
    ['wrongName', false, /does not match host name|server certificate for/],
    ['expired', false, /certificate has expired|certificate verify failed/],
    ['tlsOff', false, /server does not support SSL/],
  ]
  for (const [kind, accepted, psqlSays] of expected) {
    it(`${kind} server: ${accepted ? 'accepted' : 'refused'} by both`, async () => {
      const psql = await psqlAccepts(lab, kind)
      assert.equal(psql.ok, accepted, psql.output)
      assert.match(psql.output, psqlSays)
      assert.equal(await sdkAccepts(lab, kind), accepted)
    })
  }
})
