import type { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AzurePgError } from '../errors.js'
import type { CertsSettings } from '../config/certs-settings.js'
import type { FetchFunction, Logger } from '../options.js'
import { PromiseMemo } from '../util/memo.js'
import { readCachedRoot, writeCachedRoot, type CacheRead } from './cache.js'
import { packageRoot } from '../util/package-root.js'
import { downloadRoot } from './download.js'
import { daysLeft, parseCertificates } from '../util/pem.js'
import { AZURE_ROOTS, type AzureRoot } from './roots.js'

/** The package's `certs/` folder, beside its package.json (from src/, dist/esm/ and dist/cjs/ alike). */
export const BUNDLED_CERTS_DIR = join(packageRoot(import.meta.url), 'certs')

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
export const DEFAULT_ROOTS: readonly AzureRoot[] = AZURE_ROOTS.filter((r) => r.trustedByDefault)

const bundledMemo = new PromiseMemo<string, string>()

/** Reads a bundled root and checks its pin; once per process and folder. */
export function readBundledRoot(root: AzureRoot, dir: string = BUNDLED_CERTS_DIR): Promise<string> {
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

/** What one resolution run over several roots has already said, so each warning is given once. */
export interface RunState {
  /** Set once the cache could not be written. */
  cacheWriteFailed: boolean
}

/**
 * One root through the resolution order: the on-disk cache, then a download (unless offline), then
 * the bundled copy (unless `source` is `download`). `source: 'bundled'` goes straight to the copy.
 * Never throws: an unusable bundled copy is reported as `bundledError`.
 */
export async function resolveRoot(root: AzureRoot, settings: CertsSettings, ctx: StoreContext, run: RunState = { cacheWriteFailed: false }): Promise<RootOutcome> {
  const tried: string[] = []
  const errors: Error[] = []
  let cache: CacheRead['kind'] = 'miss'
  if (settings.source !== 'bundled') {
    const cached = await readCachedRoot(settings.cacheDir, root)
    cache = cached.kind
    if (cached.kind === 'hit') return { ok: { root, pem: cached.pem, origin: 'cache' }, cache }
    if (cached.kind === 'bad') ctx.logger.warn(`The cached copy of ${root.name} in ${settings.cacheDir} ${cached.why}; it is ignored and will be replaced.`)
    tried.push(cached.kind === 'bad' ? `cache: ${cached.why}` : 'cache: no copy')
    if (settings.offline) {
      tried.push('download: not tried (offline)')
    } else {
      try {
        const pem = await downloadRoot(root, settings)
        try {
          await writeCachedRoot(settings.cacheDir, root, pem)
        } catch (err) {
          if (!run.cacheWriteFailed) {
            run.cacheWriteFailed = true
            ctx.logger.warn(`Cannot write the certificate cache ${settings.cacheDir} (${(err as NodeJS.ErrnoException).code ?? String(err)}); keeping downloaded roots in memory.`)
          }
        }
        return { ok: { root, pem, origin: 'download' }, cache }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        errors.push(err instanceof Error ? err : new Error(message))
        tried.push(`download: ${message}`)
        if (settings.source === 'auto') ctx.logger.warn(`${message} Using the bundled copy.`)
      }
    }
    if (settings.source === 'download') return { tried, errors, cache }
  }
  try {
    return { ok: { root, pem: await readBundledRoot(root, ctx.bundledDir), origin: 'bundled' }, cache }
  } catch (err) {
    const bundledError = err instanceof Error ? err : new Error(String(err))
    return { tried: [...tried, `bundled: ${bundledError.message}`], errors: [...errors, bundledError], cache, bundledError }
  }
}

async function resolveAll(settings: CertsSettings, ctx: StoreContext): Promise<readonly ResolvedRoot[]> {
  const run: RunState = { cacheWriteFailed: false }
  const outcomes = await Promise.all(DEFAULT_ROOTS.map((root) => resolveRoot(root, settings, ctx, run)))
  // A package whose own copies are missing or changed is broken: say that, not "unavailable".
  for (const o of outcomes) if ('bundledError' in o && o.bundledError !== undefined) throw o.bundledError
  const missing = outcomes.flatMap((o, i) => ('tried' in o ? [`${DEFAULT_ROOTS[i]?.name ?? '?'} (${o.tried.join('; ')})`] : []))
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
  const { source, offline, cacheDir, mirror, timeoutMs } = settings
  return JSON.stringify([source, offline, cacheDir, mirror ?? '', timeoutMs, fetchId, ctx.bundledDir ?? ''])
}

/**
 * Azure's default roots, resolved in order in-process memo → on-disk cache → download → bundled copy
 * (as `settings.source` and `offline` allow). The first call in a process does the work; concurrent
 * and later calls share it, so a pool or a burst of clients causes at most one download per root.
 * A failed resolution is forgotten, so the next call tries again.
 */
export function resolveAzureRoots(settings: CertsSettings, ctx: StoreContext): Promise<readonly ResolvedRoot[]> {
  return memo.get(memoKey(settings, ctx), () => resolveAll(settings, ctx))
}

/** Forgets every memoised resolution (for long-lived processes that want a fresh look, and for tests). */
export function clearRootMemo(): void {
  memo.clear()
}
