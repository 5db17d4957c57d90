import type { X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AzurePgError } from '../errors.js'
import { packageRoot } from '../package-root.js'
import type { Logger } from '../log.js'
import { readCachedRoot, writeCachedRoot } from './cache.js'
import type { CertsSettings, FetchFunction } from './certs-options.js'
import { downloadRoot } from './download.js'
import { daysUntilExpiry, parseCertificates } from './pem.js'
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

const bundledMemo = new Map<string, Promise<string>>()

/** Reads a bundled root and checks its pin; once per process and folder. */
export function readBundledRoot(root: AzureRoot, dir: string = BUNDLED_CERTS_DIR): Promise<string> {
  const path = join(dir, `${root.id}.pem`)
  let memo = bundledMemo.get(path)
  if (memo === undefined) {
    memo = (async () => {
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
    })()
    memo.catch(() => bundledMemo.delete(path))
    bundledMemo.set(path, memo)
  }
  return memo
}

/** Days from `now` until a PEM certificate's notAfter (negative once expired). */
export function daysLeft(pem: string, now: Date): number {
  const [cert] = parseCertificates(pem)
  return cert === undefined ? -1 : daysUntilExpiry(cert, now)
}

type Outcome = { readonly ok: ResolvedRoot } | { readonly tried: readonly string[] }

interface Run {
  readonly settings: CertsSettings
  readonly ctx: StoreContext
  /** Set once the cache could not be written, so the warning is given once. */
  cacheWriteFailed: boolean
}

async function resolveOne(root: AzureRoot, run: Run): Promise<Outcome> {
  const { settings, ctx } = run
  const tried: string[] = []
  if (settings.source !== 'bundled') {
    const cached = await readCachedRoot(settings.cacheDir, root)
    if (cached.kind === 'hit') return { ok: { root, pem: cached.pem, origin: 'cache' } }
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
        return { ok: { root, pem, origin: 'download' } }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        tried.push(`download: ${message}`)
        if (settings.source === 'auto') ctx.logger.warn(`${message} Using the bundled copy.`)
      }
    }
    if (settings.source === 'download') return { tried }
  }
  return { ok: { root, pem: await readBundledRoot(root, ctx.bundledDir), origin: 'bundled' } }
}

async function resolveAll(settings: CertsSettings, ctx: StoreContext): Promise<readonly ResolvedRoot[]> {
  const run: Run = { settings, ctx, cacheWriteFailed: false }
  const outcomes = await Promise.all(DEFAULT_ROOTS.map((root) => resolveOne(root, run)))
  const missing = outcomes.flatMap((o, i) => ('tried' in o ? [`${DEFAULT_ROOTS[i]?.name ?? '?'} (${o.tried.join('; ')})`] : []))
  if (missing.length > 0) {
    throw new AzurePgError('CERT_UNAVAILABLE', `Azure root certificates are unavailable with certs.source "download": ${missing.join('; ')}`, {
      hint: 'Allow access to the official URLs or set AZURE_PG_TLS_CERT_MIRROR, run `azure-pg-tls certs fetch` where the network is reachable, or use certs.source "auto" to fall back to the bundled roots.',
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

const memo = new Map<string, Promise<readonly ResolvedRoot[]>>()
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
  const key = memoKey(settings, ctx)
  let p = memo.get(key)
  if (p === undefined) {
    p = resolveAll(settings, ctx)
    p.catch(() => memo.delete(key))
    memo.set(key, p)
  }
  return p
}

/** Forgets every memoised resolution (for long-lived processes that want a fresh look, and for tests). */
export function clearRootMemo(): void {
  memo.clear()
}
