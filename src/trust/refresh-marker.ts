// A failed background refresh is remembered in the cache folder, so that the next process (a serverless
// cold start, a container restart) does not try the blocked download again for a day. The marker can only
// postpone a download: the roots in use meanwhile are the pinned bundled copies, byte for byte the same.
import { createHash } from 'node:crypto'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { readSmallFile, writeFileAtomic } from './safe-file.js'

/** The marker's file name in the cache folder. */
export const MARKER_NAME = 'refresh-failed.json'

/** How long a failed refresh postpones the next attempt. */
export const REFRESH_BACKOFF_MS = 24 * 60 * 60 * 1000

/** What the marker file holds. */
export interface RefreshMarker {
  /** When the refresh failed (ISO 8601). */
  readonly failedAt: string
  /** Which download source failed (a digest of the mirror URL, or of "official"), so a new mirror is tried at once. */
  readonly source: string
  /** The roots that could not be downloaded, by id. */
  readonly roots: readonly string[]
}

/** A digest naming where downloads go; credentials are not part of it. */
export function sourceKey(mirror: string | undefined): string {
  return createHash('sha256').update(mirror ?? 'official').digest('hex').slice(0, 16)
}

/**
 * True when the cache folder holds a marker for this source that is less than a day old. A corrupt,
 * oversized or foreign marker, or one dated in the future (a clock that jumped back), is ignored.
 */
export async function refreshPostponed(cacheDir: string, mirror: string | undefined, now: Date): Promise<boolean> {
  const read = await readSmallFile(join(cacheDir, MARKER_NAME), 4096)
  if (read.kind !== 'ok') return false
  let marker: Partial<RefreshMarker>
  try {
    marker = JSON.parse(read.data.toString('utf8')) as Partial<RefreshMarker>
  } catch {
    return false
  }
  if (marker.source !== sourceKey(mirror) || typeof marker.failedAt !== 'string') return false
  const age = now.getTime() - Date.parse(marker.failedAt)
  return age >= 0 && age < REFRESH_BACKOFF_MS
}

/** Writes the marker atomically. Throws like any cache write. */
export async function writeRefreshMarker(cacheDir: string, mirror: string | undefined, now: Date, roots: readonly string[]): Promise<void> {
  const marker: RefreshMarker = { failedAt: now.toISOString(), source: sourceKey(mirror), roots }
  await writeFileAtomic(cacheDir, MARKER_NAME, `${JSON.stringify(marker)}\n`)
}

/** Removes the marker after a refresh that worked. Never throws. */
export async function clearRefreshMarker(cacheDir: string): Promise<void> {
  await rm(join(cacheDir, MARKER_NAME), { force: true }).catch(() => undefined)
}
