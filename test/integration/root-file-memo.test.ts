// sslrootcert files are read once per process and again only when they change, and a FIFO in their
// place cannot hang a factory.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { rootCertificates } from 'node:tls'
import { resolveAzurePgConfig } from '../../src/index.js'
import { expectAzureError } from '../support/assert-error.js'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const [rawA = '', rawB = ''] = rootCertificates
// Both padded to one length, so only the bytes differ; compared in the form the SDK hands to TLS.
const SIZE = Math.max(rawA.length, rawB.length) + 1
const pad = (pem: string): string => pem + '\n'.repeat(SIZE - pem.length)
const A = new X509Certificate(rawA).toString()
const B = new X509Certificate(rawB).toString()
let dir: string

before(async () => { dir = await makeTempDir('rootfile') })
after(async () => { await removeTempDir(dir) })

const caOf = async (path: string): Promise<unknown> => (await resolveAzurePgConfig({ host: HOST, user: 'u', env: {}, sslrootcert: path })).ssl.ca

describe('sslrootcert files', () => {
  it('are parsed once, and again only when the file changes', async () => {
    assert.notEqual(A, B)
    const path = join(dir, 'roots.pem')
    // Whole seconds: a time that utimes can set back exactly.
    const mtime = new Date('2026-01-01T00:00:00Z')
    await writeFile(path, pad(rawA))
    await utimes(path, mtime, mtime)
    assert.deepEqual(await caOf(path), [A])
    // Same inode, size and modification time, other bytes: the file is not read again.
    await writeFile(path, 'x'.repeat(SIZE))
    await utimes(path, mtime, mtime)
    assert.deepEqual(await caOf(path), [A], 'served from memory, not re-read')
    // A real change (new bytes, new time) is read.
    await writeFile(path, pad(rawB))
    await utimes(path, new Date(), new Date(mtime.getTime() + 5000))
    assert.deepEqual(await caOf(path), [B])
  })

  it('refuses a FIFO at once instead of blocking on it', async () => {
    const fifo = join(dir, 'fifo.pem')
    execFileSync('mkfifo', [fifo])
    const err = await expectAzureError(() => caOf(fifo), 'INVALID_CONFIG')
    assert.match(err.message, /not a regular file/)
  })
})
