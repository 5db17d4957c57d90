// File operations on the certificate cache that cannot hang or bloat the process. The cache folder may be
// shared, or writable by someone else: a FIFO planted under a cache name would block a plain open() (and a
// libuv thread with it, which also keeps the process from exiting), a symlink to /dev/zero would be read
// forever, and Node 20's `mkdir -p` spins forever on a path that cannot exist (under /proc).
import { randomBytes } from 'node:crypto'
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** Cache reads stop here, like downloads: a root certificate is 1-2 KiB. */
export const MAX_CACHE_FILE_BYTES = 64 * 1024

/** What reading a small file found. */
export type SmallFileRead =
  | { readonly kind: 'ok'; readonly data: Buffer }
  | { readonly kind: 'missing' }
  | { readonly kind: 'refused'; readonly why: string }

/**
 * Reads a regular file of at most `limit` bytes. Opened with O_NONBLOCK (a FIFO or device cannot block
 * the open) and O_NOFOLLOW unless `followLinks` (a symlink is refused, not followed to /dev/zero), then checked with fstat:
 * anything but a regular file is refused without reading a byte. Never throws.
 */
export async function readSmallFile(path: string, limit: number = MAX_CACHE_FILE_BYTES, followLinks = false): Promise<SmallFileRead> {
  let handle
  try {
    // A file the user names (sslrootcert) may be a link to the system bundle; cache files never are.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (followLinks ? 0 : constants.O_NOFOLLOW))
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' }
    if (code === 'ELOOP') return { kind: 'refused', why: 'is a symbolic link' }
    return { kind: 'refused', why: `cannot be read (${code ?? 'error'})` }
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) return { kind: 'refused', why: `is not a regular file (${kindOf(info)})` }
    if (info.size > limit) return { kind: 'refused', why: `is larger than ${limit / 1024} KiB` }
    // One byte more than allowed tells a file that grew after fstat from one that did not.
    const buf = Buffer.alloc(limit + 1)
    let size = 0
    for (;;) {
      const { bytesRead } = await handle.read(buf, size, buf.length - size, null)
      if (bytesRead === 0) break
      size += bytesRead
      if (size > limit) return { kind: 'refused', why: `is larger than ${limit / 1024} KiB` }
    }
    return { kind: 'ok', data: buf.subarray(0, size) }
  } catch (err) {
    return { kind: 'refused', why: `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }
  } finally {
    await handle.close().catch(() => undefined)
  }
}

function kindOf(info: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a FIFO'
  if (info.isSocket()) return 'a socket'
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device'
  return 'a special file'
}

/** Paths deeper than this are not created: no real cache folder is, and it bounds the walk. */
const MAX_DEPTH = 64

/**
 * `mkdir -p` that always ends: one non-recursive mkdir per missing level, each retried at most once.
 * (Node 20's `{ recursive: true }` loops forever under /proc, where mkdir answers ENOENT for a parent that exists.)
 */
export async function makeDirs(dir: string, mode: number, depth = 0): Promise<void> {
  try {
    await mkdir(dir, { mode })
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
      return
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir || depth >= MAX_DEPTH) throw err
    await makeDirs(parent, mode, depth + 1)
  }
  try {
    await mkdir(dir, { mode })
  } catch (err) {
    // Another process may have made it meanwhile; anything else (ENOENT again under /proc) is final.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

/** {@link makeDirs}, synchronously: for a process's 'exit' handler, where nothing asynchronous runs. */
export function makeDirsSync(dir: string, mode: number, depth = 0): void {
  try {
    mkdirSync(dir, { mode })
    return
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') {
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' })
      return
    }
    const parent = dirname(dir)
    if (code !== 'ENOENT' || parent === dir || depth >= MAX_DEPTH) throw err
    makeDirsSync(parent, mode, depth + 1)
  }
  try {
    mkdirSync(dir, { mode })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}

const tempName = (name: string): string => `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`

/** How a file is written: `durable` (the default) fsyncs it before the rename; a file that is only a hint can skip that. */
export interface WriteOptions {
  readonly durable?: boolean
}

/**
 * Writes a file atomically: a temporary file in the same folder (created exclusively, so never through a
 * planted symlink), fsynced unless not `durable`, then renamed over the final name. Readers see the old
 * file or the new one, never half of one, and several processes may write at once.
 */
export async function writeFileAtomic(dir: string, name: string, data: string, how: WriteOptions = {}): Promise<void> {
  await makeDirs(dir, 0o755)
  const temp = join(dir, tempName(name))
  try {
    const handle = await open(temp, 'wx', 0o644)
    try {
      await handle.writeFile(data)
      if (how.durable !== false) await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, join(dir, name))
  } catch (err) {
    await rm(temp, { force: true })
    throw err
  }
}

/**
 * {@link writeFileAtomic}, synchronously, for a process's 'exit' handler. It also removes this process's
 * own temporary files of `name`, left by an asynchronous write the exit cut short.
 */
export function writeFileAtomicSync(dir: string, name: string, data: string, how: WriteOptions = {}): void {
  makeDirsSync(dir, 0o755)
  const mine = `.${name}.${process.pid}.`
  for (const file of readdirSync(dir)) if (file.startsWith(mine) && file.endsWith('.tmp')) rmSync(join(dir, file), { force: true })
  const temp = join(dir, tempName(name))
  try {
    const fd = openSync(temp, 'wx', 0o644)
    try {
      writeSync(fd, data)
      if (how.durable !== false) fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, join(dir, name))
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
}
