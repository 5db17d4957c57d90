// Azure's 2026 chain shape, in the lab: leaf ← issuing CA ← new root cross-signed by the old root ← old
// root, with only the old root trusted (what Azure's default trust set holds). Real PostgreSQL 18 servers
// present each variant of the chain; the SDK and libpq (psql) judge them.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { createAzurePgClient } from '../../src/index.js'
import { expectAzureError } from '../support/assert-error.js'
import { AZURE_HOST, LOGINS, createLogins } from '../../lab/lab.js'
import { createRotatedChain, type RotatedChain } from '../../lab/pki.js'
import { removeTemplate, startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'

const run = promisify(execFile)

/** What each server sends, leaf first. */
type Variant = 'full' | 'withoutCross' | 'withNewRoot' | 'newRootBeforeCross'

describe("Azure's rotated chain (leaf ← issuing CA ← cross-signed new root ← old root)", () => {
  let chain: RotatedChain
  let dir: string
  /** sslrootcert files: the old root only, and old + new root. */
  let oldRootPath: string
  let bothRootsPath: string
  const servers: Partial<Record<Variant, RunningPostgres>> = {}

  before(async () => {
    chain = await createRotatedChain([AZURE_HOST])
    dir = await makeTempDir('rotated')
    oldRootPath = join(dir, 'old-root.pem')
    bothRootsPath = join(dir, 'both-roots.pem')
    await writeFile(oldRootPath, chain.oldRoot.pem)
    await writeFile(bothRootsPath, chain.oldRoot.pem + chain.newRoot.pem)
    const sent: Record<Variant, string> = {
      ...chain.chains,
      // The self-signed new root before the cross-certificate: both carry the issuing CA's issuer name.
      newRootBeforeCross: chain.leaf.leafPem + chain.issuing.pem + chain.newRoot.pem + chain.cross.pem,
    }
    for (const [variant, certChainPem] of Object.entries(sent) as Array<[Variant, string]>) {
      servers[variant] = await startPostgres({ tls: { certChainPem, keyPem: chain.leaf.keyPem } })
      await createLogins(servers[variant])
    }
  })
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()))
    await removeTemplate()
    if (dir !== undefined) await removeTempDir(dir)
  })

  const port = (v: Variant): number => {
    const s = servers[v]
    if (s === undefined) throw new Error(`no ${v} server`)
    return s.port
  }

  /** Connects through the SDK's public API and returns the server's view of the session. */
  async function sdkConnect(v: Variant, sslrootcert: string): Promise<{ user: string; ssl: boolean }> {
    const client = await createAzurePgClient({
      host: AZURE_HOST, hostaddr: '127.0.0.1', port: port(v), database: 'postgres',
      user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert, env: {},
    })
    await client.connect()
    try {
      const r = await client.query<{ user: string; ssl: boolean }>('SELECT current_user AS user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
      return r.rows[0]!
    } finally {
      await client.end()
    }
  }

  async function psql(v: Variant, sslrootcert: string): Promise<{ ok: boolean; output: string }> {
    const conninfo = `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${port(v)} dbname=postgres user=${LOGINS.flexible.user} sslmode=verify-full sslrootcert=${sslrootcert}`
    try {
      const { stdout } = await run('psql', [conninfo, '-XAtc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
        env: { PATH: process.env['PATH'], PGPASSWORD: LOGINS.flexible.password, PGCONNECT_TIMEOUT: '10' },
      })
      return { ok: true, output: stdout }
    } catch (err) {
      return { ok: false, output: String((err as { stderr?: string }).stderr ?? err) }
    }
  }

  it('the lab chain has the production shape', () => {
    const { oldRoot, newRoot, cross, issuing } = chain
    assert.equal(cross.cert.subject, newRoot.cert.subject, 'the cross-certificate carries the new root name')
    assert.equal(cross.cert.issuer, oldRoot.cert.subject, '… and is issued by the old root')
    assert.equal(newRoot.cert.issuer, newRoot.cert.subject, 'the new root is self-signed')
    assert.equal(issuing.cert.issuer, newRoot.cert.subject)
    assert.match(issuing.cert.subject, /CN=Lab Microsoft TLS G2 RSA CA OCSP 02/)
  })

  it('full chain (leaf, issuing CA, cross-certificate): connects with only the old root trusted', async () => {
    assert.deepEqual(await sdkConnect('full', oldRootPath), { user: LOGINS.flexible.user, ssl: true })
  })

  it('cross-certificate omitted: refused as an unknown CA (OpenSSL: unable to get local issuer certificate)', async () => {
    const err = await expectAzureError(() => sdkConnect('withoutCross', oldRootPath), 'TLS_VERIFY_FAILED')
    // Recorded behaviour: the current error map files UNABLE_TO_GET_ISSUER_CERT_LOCALLY under unknown-ca.
    assert.equal(err.reason, 'unknown-ca')
    assert.match(err.message, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/)
  })

  it('cross-certificate omitted, new root trusted as well: connects (the chain ends at the new root)', async () => {
    assert.equal((await sdkConnect('withoutCross', bothRootsPath)).ssl, true)
  })

  it('alternate trust path (the self-signed new root sent after the cross-certificate): accepted with the old root, and with both roots', async () => {
    assert.equal((await sdkConnect('withNewRoot', oldRootPath)).ssl, true)
    assert.equal((await sdkConnect('withNewRoot', bothRootsPath)).ssl, true)
  })

  it('alternate trust path with the self-signed new root sent BEFORE the cross-certificate: OpenSSL takes the new root and refuses unless it is trusted', async () => {
    // The path Microsoft warns about: the verifier picks the first certificate with the issuer's name
    // (the untrusted self-signed root) and does not backtrack to the cross-certificate.
    const err = await expectAzureError(() => sdkConnect('newRootBeforeCross', oldRootPath), 'TLS_VERIFY_FAILED')
    assert.equal(err.reason, 'unknown-ca')
    assert.match(err.message, /SELF_SIGNED_CERT_IN_CHAIN/)
    assert.equal((await sdkConnect('newRootBeforeCross', bothRootsPath)).ssl, true)
  })

  const libpqExpectations: Array<[Variant, 'old' | 'both', boolean]> = [
    ['full', 'old', true],
    ['withoutCross', 'old', false],
    ['withoutCross', 'both', true],
    ['withNewRoot', 'old', true],
    ['withNewRoot', 'both', true],
    ['newRootBeforeCross', 'old', false],
  ]
  for (const [variant, roots, accepted] of libpqExpectations) {
    it(`libpq (psql, verify-full) agrees: ${variant} with ${roots === 'old' ? 'the old root' : 'both roots'} trusted is ${accepted ? 'accepted' : 'refused'}`, async () => {
      const r = await psql(variant, roots === 'old' ? oldRootPath : bothRootsPath)
      assert.equal(r.ok, accepted, r.output)
      assert.match(r.output, accepted ? /^t$/m : /certificate verify failed/)
    })
  }
})
