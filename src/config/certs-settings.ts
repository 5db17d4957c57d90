import { homedir } from 'node:os'
import { join } from 'node:path'
import { invalidConfig } from '../errors.js'
import type { CertSource, CertsOptions, FetchFunction, RootSet } from '../options.js'
import { checkedOption, envValue, field } from './fields.js'
import { parseMirror, type MirrorCredentials } from './mirror-url.js'
import { isTruthy } from './setting.js'

/** {@link CertsOptions} with the environment and defaults applied. */
export interface CertsSettings {
  readonly source: CertSource
  readonly offline: boolean
  readonly cacheDir: string
  /** The mirror's base URL, without user info. */
  readonly mirror: string | undefined
  /** Credentials the mirror URL carried: sent to the mirror's origin only, never printed. */
  readonly mirrorCredentials: MirrorCredentials | undefined
  readonly timeoutMs: number
  readonly fetch: FetchFunction | undefined
  /** Which roots are trusted: Azure's PostgreSQL roots (`default`) or every current Azure root (`all`). */
  readonly roots: RootSet
}

type Env = Readonly<Record<string, string | undefined>>

const SOURCES: readonly CertSource[] = ['auto', 'download', 'bundled']
const ROOT_SETS: readonly RootSet[] = ['default', 'all']

/** The default cache folder, following the XDG base-directory convention. */
export function defaultCacheDir(env: Env): string {
  const own = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined)
  const xdg = own('XDG_CACHE_HOME')
  return xdg !== undefined && xdg !== '' ? join(xdg, 'azure-pg-tls') : join(own('HOME') ?? homedir(), '.cache', 'azure-pg-tls')
}

/** Applies `AZURE_PG_TLS_*` variables and defaults to the `certs` option (options win). Pure. */
export function resolveCertsSettings(options: CertsOptions | undefined, env: Env): CertsSettings {
  const o = options ?? {}
  for (const name of ['certs.source', 'certs.offline', 'certs.cacheDir', 'certs.mirror', 'certs.timeoutMs', 'certs.roots']) {
    const spec = field(name)
    const v = o[name.slice('certs.'.length) as keyof CertsOptions]
    if (v !== undefined && v !== null && spec.option !== undefined) checkedOption(spec.option, spec.kind, v)
  }
  const source = o.source ?? (envValue(field('certs.source'), env)?.value as CertSource | undefined) ?? 'auto'
  if (!SOURCES.includes(source)) {
    throw invalidConfig(`certs.source "${String(source)}" is not one of ${SOURCES.join(', ')}.`, "Use 'auto' (the default), 'download' or 'bundled'.")
  }
  const offline = o.offline ?? isTruthy(envValue(field('certs.offline'), env)?.value ?? '')
  const mirrorEnv = envValue(field('certs.mirror'), env)
  const mirror = o.mirror !== undefined ? parseMirror(o.mirror, 'option "certs.mirror"')
    : mirrorEnv !== undefined ? parseMirror(mirrorEnv.value, `environment variable ${mirrorEnv.name}`) : undefined
  const roots = o.roots ?? (envValue(field('certs.roots'), env)?.value as RootSet | undefined) ?? 'default'
  if (!ROOT_SETS.includes(roots)) {
    throw invalidConfig(`certs.roots "${String(roots)}" is not one of ${ROOT_SETS.join(', ')}.`, "Use 'default' (Azure's PostgreSQL roots) or 'all' (every current Azure root).")
  }
  const timeoutMs = o.timeoutMs ?? 5000
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw invalidConfig(`certs.timeoutMs ${String(timeoutMs)} is not a positive number.`, 'Use a time limit in milliseconds, e.g. 5000.')
  }
  return {
    source,
    offline,
    cacheDir: o.cacheDir ?? (envValue(field('certs.cacheDir'), env)?.value ?? defaultCacheDir(env)),
    mirror: mirror?.url,
    mirrorCredentials: mirror?.credentials,
    timeoutMs,
    fetch: o.fetch,
    roots,
  }
}
