import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parseCertificates } from '../util/pem.js'
import type { AzureRoot } from './roots.js'

/** The cache file of a root: named by its pinned fingerprint, so a renamed or rotated root never collides. */
export function cacheFile(cacheDir: string, root: AzureRoot): string {
  return join(cacheDir, `${root.sha256.replace(/:/g, '').toLowerCase()}.pem`)
}

/** What reading a root from the cache found. */
export type CacheRead =
  | { readonly kind: 'hit'; readonly pem: string }
  | { readonly kind: 'miss' }
  | { readonly kind: 'bad'; readonly why: string }

/**
 * Reads a root from the cache and re-checks its pin on every read: a corrupted or tampered file is
 * reported as `bad` (and then replaced by the next download), never trusted.
 */
export async function readCachedRoot(cacheDir: string, root: AzureRoot): Promise<CacheRead> {
  let data: Buffer
  try {
    data = await readFile(cacheFile(cacheDir, root))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' || code === 'ENOTDIR' ? { kind: 'miss' } : { kind: 'bad', why: `cannot be read (${code ?? 'error'})` }
  }
  try {
    const certs = parseCertificates(data)
    const cert = certs[0]
    if (certs.length !== 1 || cert === undefined) return { kind: 'bad', why: `holds ${certs.length} certificates` }
    if (cert.fingerprint256 !== root.sha256) return { kind: 'bad', why: 'does not match the pinned fingerprint' }
    return { kind: 'hit', pem: cert.toString() }
  } catch {
    return { kind: 'bad', why: 'is not a certificate (corrupted)' }
  }
}

/**
 * Writes a verified root into the cache atomically: a temporary file in the same folder, fsynced, then
 * renamed over the final name. Readers see the old file or the new one, never half of one, and any
 * number of processes may fill the cache at once. Throws when the folder cannot be created or written.
 */
export async function writeCachedRoot(cacheDir: string, root: AzureRoot, pem: string): Promise<void> {
  await mkdir(cacheDir, { recursive: true, mode: 0o755 })
  const target = cacheFile(cacheDir, root)
  const temp = join(cacheDir, `.${root.id}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', 0o644)
    try {
      await handle.writeFile(pem)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, target)
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}
