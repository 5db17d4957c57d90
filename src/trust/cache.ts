import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../options.js'
import { parseCertificates } from '../util/pem.js'
import type { AzureRoot } from './roots.js'
import { readSmallFile, writeFileAtomic } from './safe-file.js'

/** The cache file name of a root: its pinned fingerprint, so a renamed or rotated root never collides. */
function cacheName(root: AzureRoot): string {
  return `${root.sha256.replace(/:/g, '').toLowerCase()}.pem`
}

/** The cache file of a root. */
export function cacheFile(cacheDir: string, root: AzureRoot): string {
  return join(cacheDir, cacheName(root))
}

/** What reading a root from the cache found. */
export type CacheRead =
  | { readonly kind: 'hit'; readonly pem: string }
  | { readonly kind: 'miss' }
  | { readonly kind: 'bad'; readonly why: string }

/**
 * Reads a root from the cache and re-checks its pin on every read: a corrupted or tampered file is
 * reported as `bad` (and then replaced by the next download), never trusted. A FIFO, device, symlink
 * or oversized file under the cache name is `bad` too, found without blocking or reading it whole.
 */
export async function readCachedRoot(cacheDir: string, root: AzureRoot): Promise<CacheRead> {
  const read = await readSmallFile(cacheFile(cacheDir, root))
  if (read.kind === 'missing') return { kind: 'miss' }
  if (read.kind === 'refused') return { kind: 'bad', why: read.why }
  try {
    const certs = parseCertificates(read.data)
    const cert = certs[0]
    if (certs.length !== 1 || cert === undefined) return { kind: 'bad', why: `holds ${certs.length} certificates` }
    if (cert.fingerprint256 !== root.sha256) return { kind: 'bad', why: 'does not match the pinned fingerprint' }
    return { kind: 'hit', pem: cert.toString() }
  } catch {
    return { kind: 'bad', why: 'is not a certificate (corrupted)' }
  }
}

/**
 * Writes a verified root into the cache atomically (see {@link writeFileAtomic}). Throws when the folder
 * cannot be created or written; callers bound it in time and keep it off the connection path.
 */
export async function writeCachedRoot(cacheDir: string, root: AzureRoot, pem: string): Promise<void> {
  await writeFileAtomic(cacheDir, cacheName(root), pem)
}

const checkedDirs = new Set<string>()

/**
 * Warns, once per folder and process, when the cache folder is writable by its group or by others (as
 * ssh does about key files). The pins keep planted files from being trusted, but whoever can write there
 * can fill it with junk or suppress downloads. A missing folder is not a finding.
 */
export async function warnIfCacheDirShared(cacheDir: string, logger: Logger): Promise<void> {
  if (checkedDirs.has(cacheDir)) return
  checkedDirs.add(cacheDir)
  let mode: number
  try {
    mode = (await stat(cacheDir)).mode
  } catch {
    return
  }
  if ((mode & 0o022) === 0) return
  const who = (mode & 0o002) !== 0 ? 'every user' : 'its group'
  logger.warn(`The certificate cache folder ${cacheDir} is writable by ${who} (mode ${(mode & 0o7777).toString(8).padStart(4, '0')}); files in it are pin-checked before use, but anyone who can write there can plant or remove them. Run: chmod go-w ${cacheDir}`)
}
