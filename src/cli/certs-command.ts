import { writeFile } from 'node:fs/promises'
import { AzurePgError } from '../errors.js'
import type { CertsSettings } from '../config/certs-settings.js'
import { silentLogger } from '../log.js'
import { cacheFile, writeCachedRoot } from '../trust/cache.js'
import { downloadRoot, downloadUrl, displayUrl } from '../trust/download.js'
import { daysLeft, daysUntil } from '../util/pem.js'
import { clearRefreshMarker } from '../trust/refresh-marker.js'
import { AZURE_ROOTS, rootsOf, type AzureRoot } from '../trust/roots.js'
import { resolveAzureRoots, resolveRoot, type StoreContext } from '../trust/store.js'
import { describeTier, trustTier } from '../trust/trust-tier.js'

/** Where the command writes, and the seams it runs with. */
export interface CommandIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly now: () => Date
}

/** One row of `certs status`. */
export interface RootStatus {
  readonly id: string
  readonly name: string
  readonly trustedByDefault: boolean
  /** Trusted by this configuration (`certs.roots`). */
  readonly trusted: boolean
  /** Where a connection would take it from now (cache, else bundled); null when neither is usable. */
  readonly source: 'cache' | 'bundled' | null
  readonly cache: 'hit' | 'miss' | 'bad'
  readonly fingerprint: 'ok' | 'mismatch' | 'unavailable'
  readonly sha256: string
  readonly notAfter: string
  readonly daysLeft: number
}

async function statusOf(root: AzureRoot, settings: CertsSettings, now: Date): Promise<RootStatus> {
  let cache: RootStatus['cache'] = 'miss'
  let source: RootStatus['source'] = null
  let fingerprint: RootStatus['fingerprint'] = 'unavailable'
  const trusted = rootsOf(settings.roots).includes(root)
  if (root.trustedWithAll) {
    // The order a connection uses, without the network: cache, then the bundled copy.
    const outcome = await resolveRoot(root, { ...settings, source: 'auto', offline: true }, { logger: silentLogger, now: () => now })
    cache = outcome.cache
    if ('ok' in outcome) {
      source = outcome.ok.origin === 'cache' ? 'cache' : 'bundled'
      fingerprint = 'ok'
    } else {
      const err = outcome.bundledError
      fingerprint = err instanceof AzurePgError && err.code === 'CERT_PIN_MISMATCH' ? 'mismatch' : 'unavailable'
    }
  }
  const days = daysUntil(Date.parse(`${root.notAfter}T23:59:59Z`), now)
  return {
    id: root.id, name: root.name, trustedByDefault: root.trustedByDefault, trusted, source, cache,
    fingerprint, sha256: root.sha256, notAfter: root.notAfter, daysLeft: days,
  }
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

/** `certs status`: which roots a connection would trust now, from where, and for how long. Exit 1 if none. */
export async function certsStatus(settings: CertsSettings, io: CommandIo, json: boolean): Promise<number> {
  const now = io.now()
  const rows = await Promise.all(AZURE_ROOTS.map((r) => statusOf(r, settings, now)))
  const usable = rows.filter((r) => r.trusted && r.source !== null && r.daysLeft >= 0)
  const ok = usable.length > 0
  // The command sees only the certs settings: the tier of Azure's roots, with TLS settings left to the app.
  const tierOf = { tls: { trust: { kind: 'azure' as const }, extraSsl: {} }, certs: settings }
  if (json) {
    io.out(JSON.stringify({ cacheDir: settings.cacheDir, ok, rootSet: settings.roots, tier: trustTier(tierOf), roots: rows }, null, 2))
  } else {
    const legacy = (r: RootStatus): boolean => AZURE_ROOTS.some((a) => a.id === r.id && !a.trustedWithAll)
    io.out(table([
      ['ROOT', 'TRUSTED', 'SOURCE', 'FINGERPRINT', 'EXPIRES'],
      ...rows.map((r) => [
        r.name,
        r.trusted ? 'yes' : legacy(r) ? 'no (legacy)' : 'no (roots: all)',
        r.source ?? (r.trusted ? 'MISSING' : '-'),
        r.source === null && !r.trusted ? '-' : r.fingerprint === 'ok' ? 'ok (pinned SHA-256)' : r.fingerprint.toUpperCase(),
        `${r.notAfter} (${r.daysLeft < 0 ? 'EXPIRED' : `${r.daysLeft} days`})`,
      ]),
    ]))
    io.out(`cache: ${settings.cacheDir}`)
    io.out(describeTier(tierOf))
    io.out(ok ? `${usable.length} of ${rootsOf(settings.roots).length} Azure roots available.` : 'No valid Azure root is available: run `azure-pg-tls certs fetch`, or reinstall azure-pg-tls.')
  }
  return ok ? 0 : 1
}

/** `certs fetch`: download every root of the set (mirror, timeout, offline honoured), verify, cache. Exit 1 on any failure. */
export async function certsFetch(settings: CertsSettings, io: CommandIo, json: boolean): Promise<number> {
  const results = await Promise.all(rootsOf(settings.roots).map(async (root) => {
    const url = displayUrl(downloadUrl(root, settings.mirror))
    if (settings.offline) return { id: root.id, name: root.name, url, ok: false, code: 'CERT_UNAVAILABLE', message: 'offline: not downloaded' }
    try {
      const pem = await downloadRoot(root, settings)
      await writeCachedRoot(settings.cacheDir, root, pem)
      return { id: root.id, name: root.name, url, ok: true, cached: cacheFile(settings.cacheDir, root) }
    } catch (err) {
      const code = err instanceof AzurePgError ? err.code : (err as NodeJS.ErrnoException).code ?? 'ERROR'
      return { id: root.id, name: root.name, url, ok: false, code, message: err instanceof Error ? err.message : String(err) }
    }
  }))
  if (json) io.out(JSON.stringify({ cacheDir: settings.cacheDir, results }, null, 2))
  else {
    for (const r of results) {
      io.out(r.ok ? `✓ ${r.name}: downloaded from ${r.url}, pin verified, cached at ${r.cached ?? ''}` : `✗ ${r.name}: ${r.code ?? ''} ${r.message ?? ''}`)
    }
  }
  const allOk = results.every((r) => r.ok)
  // A refresh that worked lifts the day's pause a failed background refresh left behind.
  if (allOk) await clearRefreshMarker(settings.cacheDir)
  return allOk ? 0 : 1
}

/** `certs bundle`: the combined PEM of the roots a connection would trust, for psql, JDBC and other tools. */
export async function certsBundle(settings: CertsSettings, io: CommandIo, ctx: StoreContext, out: string | undefined): Promise<number> {
  const roots = await resolveAzureRoots(settings, ctx)
  const now = io.now()
  const pem = roots.map((r) => [
    `# ${r.root.name}`,
    `# SHA-256 ${r.root.sha256}, valid until ${r.root.notAfter} (${daysLeft(r.pem, now)} days), from ${r.origin}`,
    r.pem.trimEnd(),
  ].join('\n')).join('\n\n') + '\n'
  if (out === undefined) {
    io.out(pem.trimEnd())
  } else {
    await writeFile(out, pem)
    io.err(`wrote ${roots.length} Azure root certificates to ${out} (use it as psql's sslrootcert)`)
  }
  return 0
}
