import { homedir } from 'node:os'
import { join } from 'node:path'
import { invalidConfig } from '../errors.js'
import type { CertSource, CertsOptions, FetchFunction } from '../options.js'
import { checkedOption, envValue, field } from './fields.js'
import { isTruthy } from './setting.js'

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
  for (const name of ['certs.source', 'certs.offline', 'certs.cacheDir', 'certs.mirror', 'certs.timeoutMs']) {
    const spec = field(name)
    const v = o[name.slice('certs.'.length) as keyof CertsOptions]
    if (v !== undefined && v !== null && spec.option !== undefined) checkedOption(spec.option, spec.kind, v)
  }
  const source = o.source ?? (envValue(field('certs.source'), env)?.value as CertSource | undefined) ?? 'auto'
  if (!SOURCES.includes(source)) {
    throw invalidConfig(`certs.source "${String(source)}" is not one of ${SOURCES.join(', ')}.`, "Use 'auto' (the default), 'download' or 'bundled'.")
  }
  const offline = o.offline ?? isTruthy(envValue(field('certs.offline'), env)?.value ?? '')
  const mirror = o.mirror ?? envValue(field('certs.mirror'), env)?.value
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
    cacheDir: o.cacheDir ?? (envValue(field('certs.cacheDir'), env)?.value ?? defaultCacheDir(env)),
    mirror,
    timeoutMs,
    fetch: o.fetch,
  }
}
