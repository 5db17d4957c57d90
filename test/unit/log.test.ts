import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

// The library writes nothing unless asked; DEBUG=azure-pg-tls turns warnings on, to stderr.
async function stderrWith(debug: string | undefined): Promise<{ stdout: string; stderr: string }> {
  const script = `
    const { resolveAzurePgConfig } = await import('./src/index.ts');
    await resolveAzurePgConfig({ host: 'x.postgres.database.azure.com', user: 'u', sslmode: 'require', certs: { source: 'bundled' }, env: process.env });
    console.log('resolved');`
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, env: { PATH: process.env['PATH'], ...(debug !== undefined && { DEBUG: debug }) },
  })
}

it('is silent by default', async () => {
  const { stdout, stderr } = await stderrWith(undefined)
  assert.equal(stdout.trim(), 'resolved')
  assert.equal(stderr, '')
})

it('writes warnings to stderr with DEBUG=azure-pg-tls (or *)', async () => {
  for (const debug of ['azure-pg-tls', 'express,azure-pg-tls', '*']) {
    const { stderr } = await stderrWith(debug)
    assert.equal(stderr.trim(), 'azure-pg-tls warning: sslmode "require" was raised to verify-full: the certificate and host name are always verified.', debug)
  }
  assert.equal((await stderrWith('other-lib')).stderr, '')
})
