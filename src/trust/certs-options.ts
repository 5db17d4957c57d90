import { homedir } from 'node:os'
import { join } from 'node:path'
import { isTruthy } from '../config/tls-policy.js'
import { invalidConfig } from '../errors.js'

/** The parts of a fetch response the downloader reads; node-fetch's and Node's own both fit. */
export interface FetchResponse {
  readonly status: number
  readonly headers: { get(name: string): string | null }
  readonly body: AsyncIterable<Uint8Array | string> | null
}

/** A fetch implementation: node-fetch by default; pass another for proxies or tests. */
export type FetchFunction = (url: string, init: {
  signal: AbortSignal
  redirect: 'manual'
  headers: Record<string, string>
}) => Promise<FetchResponse>

/** Where Azure's roots come from: see the README's "Certificates" section. */
export type CertSource = 'auto' | 'download' | 'bundled'

/** The `certs` option of the factories. Every field has an `AZURE_PG_TLS_*` variable or a default. */
export interface CertsOptions {
  /** `auto`: cache, then download, then the bundled copy; `download`: no bundled fallback; `bundled`: only `certs/`. Env `AZURE_PG_TLS_CERT_SOURCE`. */
  source?: CertSource
  /** Never use the network: cache, then bundled. Env `AZURE_PG_TLS_OFFLINE=1`. */
  offline?: boolean
  /** Cache folder. Env `AZURE_PG_TLS_CACHE_DIR`; default `$XDG_CACHE_HOME/azure-pg-tls`, else `~/.cache/azure-pg-tls`. */
  cacheDir?: string
  /** Base URL of an internal mirror serving each root under its official file name. Env `AZURE_PG_TLS_CERT_MIRROR`. */
  mirror?: string
  /** Time limit of one download in milliseconds (default 5000). */
  timeoutMs?: number
  /** The fetch to download with (default: node-fetch, loaded only when a download happens). */
  fetch?: FetchFunction
}

/** {@link CertsOptions} with the environment and defaults applied. */
export interface CertsSettings {
  readonly source: CertSource
  readonly offline: boolean
  readonly cacheDir: string
  readonly mirror: string | undefined
  readonly timeoutMs: number
  readonly fetch: FetchFunction | undefined
}

type Env = Readonly<Record<string, string | undefined>>

const SOURCES: readonly CertSource[] = ['auto', 'download', 'bundled']

/** The default cache folder, following the XDG base-directory convention. */
export function defaultCacheDir(env: Env): string {
  const xdg = env['XDG_CACHE_HOME']
  return xdg !== undefined && xdg !== '' ? join(xdg, 'azure-pg-tls') : join(env['HOME'] ?? homedir(), '.cache', 'azure-pg-tls')
}

/** Applies `AZURE_PG_TLS_*` variables and defaults to the `certs` option (options win). Pure. */
export function resolveCertsSettings(options: CertsOptions | undefined, env: Env): CertsSettings {
  const o = options ?? {}
  const source = o.source ?? (env['AZURE_PG_TLS_CERT_SOURCE'] as CertSource | undefined) ?? 'auto'
  if (!SOURCES.includes(source)) {
    throw invalidConfig(`certs.source "${String(source)}" is not one of ${SOURCES.join(', ')}.`, "Use 'auto' (the default), 'download' or 'bundled'.")
  }
  const offline = o.offline ?? isTruthy(env['AZURE_PG_TLS_OFFLINE'] ?? '')
  const mirror = o.mirror ?? (env['AZURE_PG_TLS_CERT_MIRROR'] || undefined)
  if (mirror !== undefined && !/^https?:\/\/[^/]/i.test(mirror)) {
    throw invalidConfig(`certs.mirror "${mirror}" is not an http(s) URL.`, 'Use the base URL of the mirror, e.g. https://pki.example.internal/azure-roots/.')
  }
  const timeoutMs = o.timeoutMs ?? 5000
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw invalidConfig(`certs.timeoutMs ${String(timeoutMs)} is not a positive number.`, 'Use a time limit in milliseconds, e.g. 5000.')
  }
  return {
    source,
    offline,
    cacheDir: o.cacheDir ?? (env['AZURE_PG_TLS_CACHE_DIR'] || defaultCacheDir(env)),
    mirror,
    timeoutMs,
    fetch: o.fetch,
  }
}
