import type { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AzurePgError } from '../errors.js'
import type { CertsSettings } from '../config/certs-settings.js'
import type { FetchFunction, Logger } from '../options.js'
import { PromiseMemo } from '../util/memo.js'
import { packageRoot } from '../util/package-root.js'
import { daysLeft, parseCertificates } from '../util/pem.js'
import { withTimeLimit } from '../util/time-limit.js'
import { startLater, startNow } from './background.js'
import { readCachedRoot, warnIfCacheDirShared, writeCachedRoot, type CacheRead } from './cache.js'
import { downloadRoot } from './download.js'
import { clearRefreshMarker, refreshPostponed, writeRefreshMarker } from './refresh-marker.js'
import { rootsOf, type AzureRoot } from './roots.js'

export { settleBackgroundWork } from './background.js'

let bundledDir: string | undefined

/**
 * The package's `certs/` folder, beside its package.json (from src/, dist/esm/ and dist/cjs/ alike). Found
 * on first use, not at import: a process that trusts its own roots (ssl.ca, sslrootcert) never looks.
 */
export function bundledCertsDir(): string {
  bundledDir ??= join(packageRoot(import.meta.url), 'certs')
  return bundledDir
}

/** Roots within this many days of their notAfter get a warning. */
export const EXPIRY_WARNING_DAYS = 90

/** Where a trusted root came from. */
export type RootOrigin = 'cache' | 'download' | 'bundled'

/** One trusted Azure root. */
export interface ResolvedRoot {
  readonly root: AzureRoot
  readonly pem: string
  readonly origin: RootOrigin
}

/** Seams of root resolution. */
export interface StoreContext {
  readonly logger: Logger
  readonly now: () => Date
  /** Folder of the bundled `<id>.pem` files; defaults to the package's `certs/`. */
  readonly bundledDir?: string
}

/** The roots Azure's servers chain to, as trusted by default. */
export const DEFAULT_ROOTS: readonly AzureRoot[] = rootsOf('default')

const bundledMemo = new PromiseMemo<string, string>()

/** Reads a bundled root and checks its pin; once per process and folder. */
export function readBundledRoot(root: AzureRoot, dir: string = bundledCertsDir()): Promise<string> {
  const path = join(dir, `${root.id}.pem`)
  return bundledMemo.get(path, async () => {
    let cert: X509Certificate | undefined
    try {
      cert = parseCertificates(await readFile(path))[0]
    } catch (cause) {
      throw new AzurePgError('CERT_UNAVAILABLE', `The bundled copy of ${root.name} (${path}) cannot be read.`, { hint: 'Reinstall azure-pg-tls.', cause })
    }
    if (cert?.fingerprint256 !== root.sha256) {
      throw new AzurePgError('CERT_PIN_MISMATCH', `The bundled copy of ${root.name} (${path}) does not match its pinned fingerprint.`,
        { hint: 'Reinstall azure-pg-tls: the package files were changed.' })
    }
    return cert.toString()
  })
}

/** What resolving one root came to: the root, or every reason it could not be had. */
export type RootOutcome =
  | { readonly ok: ResolvedRoot; readonly cache: CacheRead['kind'] }
  | { readonly tried: readonly string[]; readonly errors: readonly Error[]; readonly cache: CacheRead['kind']; readonly bundledError?: Error }

/** What one resolution run over several roots has already said and found, so each warning is given once. */
export interface RunState {
  /** Set once the cache could not be written. */
  cacheWriteFailed: boolean
  /** Roots served from the bundled copy in `auto` because the cache had none: refreshed in the background. */
  readonly stale?: AzureRoot[]
}

/** A cache write that takes longer than this is abandoned with a warning (a hung network file system, say). */
export const CACHE_WRITE_LIMIT_MS = 5000

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err)
}

/** Writes a root into the cache, bounded in time; failures are warned about once per run, never thrown. */
async function saveRoot(root: AzureRoot, pem: string, settings: CertsSettings, ctx: StoreContext, run: RunState, meanwhile: string): Promise<void> {
  try {
    await withTimeLimit(writeCachedRoot(settings.cacheDir, root, pem), CACHE_WRITE_LIMIT_MS, `writing the certificate cache took longer than ${CACHE_WRITE_LIMIT_MS} ms`, { unref: true })
  } catch (err) {
    if (!run.cacheWriteFailed) {
      run.cacheWriteFailed = true
      ctx.logger.warn(`Cannot write the certificate cache ${settings.cacheDir} (${errorCode(err)}); ${meanwhile}.`)
    }
  }
}

async function download(root: AzureRoot, settings: CertsSettings, ctx: StoreContext, run: RunState, tried: string[], errors: Error[]): Promise<string | undefined> {
  try {
    const pem = await downloadRoot(root, settings)
    // Off the connection path: the caller has its root now, the cache is filled behind it.
    startNow(() => saveRoot(root, pem, settings, ctx, run, 'keeping downloaded roots in memory'))
    return pem
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    errors.push(err instanceof Error ? err : new Error(message))
    tried.push(`download: ${message}`)
    return undefined
  }
}

/**
 * One root through the resolution order. `auto`: the on-disk cache, else the bundled copy at once (the
 * pinned copy is byte for byte the root a download would fetch), the cache being refreshed later in the
 * background (see {@link resolveAzureRoots}). `download`: the cache, else a download, waited for, with no
 * bundled fallback. `bundled`: straight to the copy. `offline` never downloads. Never throws: an unusable
 * bundled copy is reported as `bundledError`.
 */
export async function resolveRoot(root: AzureRoot, settings: CertsSettings, ctx: StoreContext, run: RunState = { cacheWriteFailed: false }): Promise<RootOutcome> {
  const tried: string[] = []
  const errors: Error[] = []
  let cache: CacheRead['kind'] = 'miss'
  const mayDownload = settings.source !== 'bundled' && !settings.offline
  if (settings.source !== 'bundled') {
    const cached = await readCachedRoot(settings.cacheDir, root)
    cache = cached.kind
    if (cached.kind === 'hit') return { ok: { root, pem: cached.pem, origin: 'cache' }, cache }
    if (cached.kind === 'bad') ctx.logger.warn(`The cached copy of ${root.name} in ${settings.cacheDir} ${cached.why}; it is ignored and will be replaced.`)
    tried.push(cached.kind === 'bad' ? `cache: ${cached.why}` : 'cache: no copy')
    if (settings.source === 'download') {
      if (!mayDownload) return { tried: [...tried, 'download: not tried (offline)'], errors, cache }
      const pem = await download(root, settings, ctx, run, tried, errors)
      return pem === undefined ? { tried, errors, cache } : { ok: { root, pem, origin: 'download' }, cache }
    }
  }
  try {
    const pem = await readBundledRoot(root, ctx.bundledDir)
    if (mayDownload) run.stale?.push(root)
    return { ok: { root, pem, origin: 'bundled' }, cache }
  } catch (err) {
    const bundledError = err instanceof Error ? err : new Error(String(err))
    // A damaged package copy in auto: wait for the download after all, rather than fail.
    const pem = mayDownload ? await download(root, settings, ctx, run, tried, errors) : undefined
    if (pem !== undefined) {
      ctx.logger.warn(`${bundledError.message} The downloaded copy is used.`)
      return { ok: { root, pem, origin: 'download' }, cache }
    }
    return { tried: [...tried, `bundled: ${bundledError.message}`], errors: [...errors, bundledError], cache, bundledError }
  }
}

/**
 * The background refresh after a cold start: download the roots the cache lacks and cache them. Skipped
 * for a day after a failed attempt (a marker in the cache folder says so, for every process); a failure
 * is warned about and recorded, never thrown.
 */
async function refreshCache(roots: readonly AzureRoot[], settings: CertsSettings, ctx: StoreContext): Promise<void> {
  if (await refreshPostponed(settings.cacheDir, settings.mirror, ctx.now())) return
  const run: RunState = { cacheWriteFailed: false }
  const failed: string[] = []
  await Promise.all(roots.map(async (root) => {
    let pem: string
    try {
      pem = await downloadRoot(root, settings, { background: true })
    } catch (err) {
      failed.push(root.id)
      ctx.logger.warn(`${err instanceof Error ? err.message : String(err)} Using the bundled copy (the same pinned certificate); the next download attempt is in a day.`)
      return
    }
    await saveRoot(root, pem, settings, ctx, run, 'the bundled copies stay in use')
  }))
  if (failed.length === 0) {
    await clearRefreshMarker(settings.cacheDir)
    return
  }
  try {
    await withTimeLimit(writeRefreshMarker(settings.cacheDir, settings.mirror, ctx.now(), failed), CACHE_WRITE_LIMIT_MS, `writing the refresh marker took longer than ${CACHE_WRITE_LIMIT_MS} ms`, { unref: true })
  } catch (err) {
    if (!run.cacheWriteFailed) ctx.logger.warn(`Cannot record the failed download in ${settings.cacheDir} (${errorCode(err)}); the next process tries again.`)
  }
}

const plainHttpWarned = new Set<string>()

async function resolveAll(settings: CertsSettings, ctx: StoreContext): Promise<readonly ResolvedRoot[]> {
  const roots = rootsOf(settings.roots)
  if (settings.source !== 'bundled') await warnIfCacheDirShared(settings.cacheDir, ctx.logger)
  if (settings.mirrorCredentials !== undefined && settings.mirror?.startsWith('http:') === true && !plainHttpWarned.has(settings.mirror)) {
    plainHttpWarned.add(settings.mirror)
    ctx.logger.warn(`certs.mirror ${settings.mirror} is plain http: its credentials travel unencrypted. Use https.`)
  }
  const stale: AzureRoot[] = []
  const run: RunState = { cacheWriteFailed: false, stale }
  const outcomes = await Promise.all(roots.map((root) => resolveRoot(root, settings, ctx, run)))
  if (stale.length > 0) {
    startLater(JSON.stringify([settings.cacheDir, settings.mirror ?? '', stale.map((r) => r.id)]), () => refreshCache(stale, settings, ctx))
  }
  // A package whose own copies are missing or changed is broken: say that, not "unavailable".
  for (const o of outcomes) if ('bundledError' in o && o.bundledError !== undefined) throw o.bundledError
  const missing = outcomes.flatMap((o, i) => ('tried' in o ? [`${roots[i]?.name ?? '?'} (${o.tried.join('; ')})`] : []))
  if (missing.length > 0) {
    throw new AzurePgError('CERT_UNAVAILABLE', `Azure root certificates are unavailable with certs.source "download": ${missing.join('; ')}`, {
      hint: 'Allow access to the official URLs or set AZURE_PG_TLS_CERT_MIRROR, run `azure-pg-tls certs fetch` where the network is reachable, or use certs.source "auto" to fall back to the bundled roots.',
      errors: outcomes.flatMap((o) => ('errors' in o ? o.errors : [])),
    })
  }
  const now = ctx.now()
  const usable: ResolvedRoot[] = []
  for (const o of outcomes) {
    if (!('ok' in o)) continue
    const days = daysLeft(o.ok.pem, now)
    if (days < 0) {
      ctx.logger.warn(`${o.ok.root.name} expired on ${o.ok.root.notAfter}; it is not trusted.`)
    } else {
      if (days <= EXPIRY_WARNING_DAYS) ctx.logger.warn(`${o.ok.root.name} expires on ${o.ok.root.notAfter}, in ${days} days; update azure-pg-tls before then.`)
      usable.push(o.ok)
    }
  }
  if (usable.length === 0) {
    throw new AzurePgError('CERT_UNAVAILABLE', 'Every Azure root certificate available has expired.', {
      hint: 'Update azure-pg-tls, check the machine clock, or pass sslrootcert with current roots.',
    })
  }
  return usable
}

const memo = new PromiseMemo<string, readonly ResolvedRoot[]>()
const fetchIds = new WeakMap<FetchFunction, number>()
let nextFetchId = 1

function memoKey(settings: CertsSettings, ctx: StoreContext): string {
  let fetchId = 0
  if (settings.fetch !== undefined) {
    fetchId = fetchIds.get(settings.fetch) ?? nextFetchId++
    fetchIds.set(settings.fetch, fetchId)
  }
  const { source, offline, cacheDir, mirror, timeoutMs, roots, mirrorCredentials } = settings
  return JSON.stringify([source, offline, cacheDir, mirror ?? '', mirrorCredentials?.fingerprint() ?? '', timeoutMs, fetchId, roots, ctx.bundledDir ?? ''])
}

/**
 * Azure's roots (the set `settings.roots` names), resolved in order in-process memo → on-disk cache →
 * bundled copy (`auto`: nothing on the connection path waits for the network; roots missing from the
 * cache are downloaded in the background afterwards) or → download (`download`: waited for, no fallback).
 * The first call in a process does the work; concurrent and later calls share it, so a pool or a burst
 * of clients causes at most one download per root. A failed resolution is forgotten, so the next call
 * tries again. {@link settleBackgroundWork} waits for the background part. `onResolve` is called when this
 * call does the work (not a memo hit).
 */
export function resolveAzureRoots(settings: CertsSettings, ctx: StoreContext, onResolve?: () => void): Promise<readonly ResolvedRoot[]> {
  return memo.get(memoKey(settings, ctx), () => {
    // Telemetry tells a resolution from a memo hit (or a share of one under way) by this.
    onResolve?.()
    return resolveAll(settings, ctx)
  })
}

/** Forgets every memoised resolution (for long-lived processes that want a fresh look, and for tests). */
export function clearRootMemo(): void {
  memo.clear()
}
