// The doctor names Microsoft's trust tier of the configuration it checks (best, good, custom).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runDoctor } from '../../src/doctor/run-doctor.js'
import type { AzurePgOptions } from '../../src/options.js'
import { startCountingListener } from '../../lab/counting-listener.js'

async function tierLine(options: AzurePgOptions): Promise<string | undefined> {
  // A listener that never answers: the configuration step is what matters; the rest fails fast.
  const listener = await startCountingListener()
  try {
    const report = await runDoctor({
      options: { host: 'mydemoserver.postgres.database.azure.com', hostaddr: '127.0.0.1', port: listener.port, user: 'u', env: {}, certs: { source: 'bundled' }, ...options },
      timeoutMs: 300,
      plaintextProbe: false,
    })
    return report.steps[0]?.details.find((d) => d.startsWith('trust tier:'))
  } finally {
    await listener.close()
  }
}

describe('doctor trust tier', () => {
  it('says good for the default roots, and what "best" needs', async () => {
    assert.match(await tierLine({}) ?? '', /^trust tier: good .*certs\.roots 'all'.*ssl\.minVersion 'TLSv1\.3'/)
  })
  it('says best for every Azure root with TLS 1.3 minimum', async () => {
    assert.match(await tierLine({ certs: { source: 'bundled', roots: 'all' }, ssl: { minVersion: 'TLSv1.3' } }) ?? '', /^trust tier: best/)
  })
  it('says custom for roots the user chose', async () => {
    assert.match(await tierLine({ sslrootcert: 'system' }) ?? '', /^trust tier: custom/)
  })
})
