import { homedir } from 'node:os'
import { join } from 'node:path'
import { invalidConfig } from '../errors.js'
import type { CertSource, CertsOptions, FetchFunction, RootSet } from '../options.js'
import { checkedOption, field, firstSet } from './fields.js'
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
function defaultCacheDir(env: Env): string {
  const own = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined)
  const xdg = own('XDG_CACHE_HOME')
  return xdg !== undefined && xdg !== '' ? join(xdg, 'azure-pg-tls') : join(own('HOME') ?? homedir(), '.cache', 'azure-pg-tls')
}

/** Applies `AZURE_PG_TLS_*` variables and defaults to the `certs` option (options win). Pure. */
export function resolveCertsSettings(options: CertsOptions | undefined, env: Env): CertsSettings {
  const o = options ?? {}
  // One field: its option, type-checked, and its first set environment variable. All are picked (in
  // this order) before any value is judged, so a mistyped option is reported first.
  const pick = <K extends Exclude<keyof CertsOptions, 'fetch'>>(name: K): { option: CertsOptions[K]; env: { name: string; value: string } | undefined } => {
    const spec = field(`certs.${name}`)
    const option = o[name]
    if (option !== undefined && option !== null) checkedOption(`certs.${name}`, spec.kind, option)
    return { option, env: firstSet(spec.env ?? [], env) }
  }
  const sourceField = pick('source')
  const offlineField = pick('offline')
  const cacheDirField = pick('cacheDir')
  const mirrorField = pick('mirror')
  const timeoutField = pick('timeoutMs')
  const rootsField = pick('roots')
  const source = sourceField.option ?? (sourceField.env?.value as CertSource | undefined) ?? 'auto'
  if (!SOURCES.includes(source)) {
    throw invalidConfig(`certs.source "${String(source)}" is not one of ${SOURCES.join(', ')}.`, "Use 'auto' (the default), 'download' or 'bundled'.")
  }
  const offline = offlineField.option ?? isTruthy(offlineField.env?.value ?? '')
  const mirrorEnv = mirrorField.env
  const mirror = mirrorField.option !== undefined ? parseMirror(mirrorField.option, 'option "certs.mirror"')
    : mirrorEnv !== undefined ? parseMirror(mirrorEnv.value, `environment variable ${mirrorEnv.name}`) : undefined
  const roots = rootsField.option ?? (rootsField.env?.value as RootSet | undefined) ?? 'default'
  if (!ROOT_SETS.includes(roots)) {
    throw invalidConfig(`certs.roots "${String(roots)}" is not one of ${ROOT_SETS.join(', ')}.`, "Use 'default' (Azure's PostgreSQL roots) or 'all' (every current Azure root).")
  }
  const timeoutMs = timeoutField.option ?? 5000
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw invalidConfig(`certs.timeoutMs ${String(timeoutMs)} is not a positive number.`, 'Use a time limit in milliseconds, e.g. 5000.')
  }
  return {
    source,
    offline,
    cacheDir: cacheDirField.option ?? (cacheDirField.env?.value ?? defaultCacheDir(env)),
    mirror: mirror?.url,
    mirrorCredentials: mirror?.credentials,
    timeoutMs,
    fetch: o.fetch,
    roots,
  }
}
