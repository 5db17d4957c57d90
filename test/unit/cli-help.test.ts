import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { runCliCaptured } from '../support/cli.js'

/** The version as package.json states it, read here rather than through the code under test. */
const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { code, out, err } = await runCliCaptured(args)
  return { code, out, err }
}

describe('azure-pg-tls --version', () => {
  for (const args of [['--version'], ['-v'], ['doctor', '--version']]) {
    it(`${args.join(' ')} prints the package version alone and exits 0`, async () => {
      const r = await cli(args)
      assert.deepEqual(r, { code: 0, out: version, err: '' })
    })
  }
})

describe('command help', () => {
  for (const args of [['doctor', '--help'], ['doctor', '-h'], ['help', 'doctor']]) {
    it(`${args.join(' ')} prints the doctor's own options and examples`, async () => {
      const r = await cli(args)
      assert.equal(r.code, 0)
      assert.equal(r.err, '')
      assert.match(r.out, /^azure-pg-tls doctor: /)
      assert.match(r.out, /^ {2}azure-pg-tls doctor \[CONNECTION STRING\] \[options\]$/m)
      for (const option of ['--password-stdin', '--entra', '--server-type T', '--json', '--timeout MS']) {
        assert.match(r.out, new RegExp(`^ {2}${option} `, 'm'), option)
      }
      assert.match(r.out, /^Examples:\n {2}azure-pg-tls doctor "host=/m)
      assert.doesNotMatch(r.out, /certs bundle/, 'not the global help')
    })
  }

  for (const args of [['certs', '--help'], ['certs', 'bundle', '-h'], ['help', 'certs']]) {
    it(`${args.join(' ')} prints the certs command's own options and examples`, async () => {
      const r = await cli(args)
      assert.equal(r.code, 0)
      assert.equal(r.err, '')
      assert.match(r.out, /^azure-pg-tls certs: /)
      for (const sub of ['status', 'fetch', 'bundle']) assert.match(r.out, new RegExp(`^ {2}azure-pg-tls certs ${sub} `, 'm'), sub)
      for (const option of ['--out FILE', '--cache-dir DIR', '--mirror URL', '--offline', '--source S']) {
        assert.match(r.out, new RegExp(`^ {2}${option} `, 'm'), option)
      }
      assert.match(r.out, /^Examples:\n {2}azure-pg-tls certs status$/m)
      assert.doesNotMatch(r.out, /--password-stdin/, 'not the global help or the doctor help')
    })
  }

  it('--help alone still prints the global help, which points to the command help', async () => {
    const r = await cli(['--help'])
    assert.equal(r.code, 0)
    assert.match(r.out, /^azure-pg-tls: verified TLS/)
    assert.match(r.out, /`doctor --help` and `certs --help`/)
    assert.match(r.out, /^ {2}-v, --version /m)
  })
})
