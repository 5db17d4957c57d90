import { stat } from 'node:fs/promises'
import { rootCertificates, type ConnectionOptions } from 'node:tls'
import type { X509Certificate } from 'node:crypto'
import { AzurePgError, invalidConfig } from '../errors.js'
import type { CertsSettings } from '../config/certs-settings.js'
import { resolveAzureRoots, type StoreContext } from './store.js'
import type { TrustSpec } from '../config/tls-policy.js'
import { commonName, isExpired, parseCertificates } from '../util/pem.js'
import { rootByFingerprint } from './roots.js'
import { readSmallFile } from './safe-file.js'
import type { TrustSource } from '../telemetry/channels.js'

/** The roots a connection trusts, ready for `ssl.ca`. */
export interface TrustAnchors {
  readonly ca: NonNullable<ConnectionOptions['ca']>
  /** Where they came from, for messages: "Azure roots (bundled)", a file path, ... */
  readonly description: string
  /** Where they came from, for telemetry: for Azure's roots the least warm of their origins, or `memo`. */
  readonly source: TrustSource
}

/** Seams of trust loading: the clock, the logger, the certificate settings, the bundled folder. */
export interface TrustContext extends StoreContext {
  readonly certs: CertsSettings
}

/** Expired roots in a user's own file are still used (the user chose them), with a warning. */
function warnExpiry(cert: X509Certificate, where: string, ctx: TrustContext): void {
  if (!isExpired(cert, ctx.now())) return
  const known = rootByFingerprint(cert.fingerprint256)
  const legacy = known !== undefined && !known.trustedWithAll
    ? ` ${known.name} is no longer used by Azure; remove sslrootcert to trust Azure's current roots.`
    : ''
  ctx.logger.warn(`${commonName(cert)} in ${where} expired on ${cert.validTo}.${legacy}`)
}

/** A user's root file is rarely over a few hundred KiB (a full public bundle); past this it is not one. */
const MAX_ROOT_FILE_BYTES = 4 * 1024 * 1024

/** Root files read so far, by path, with what identified the version read (a changed file is read again). */
const fileMemo = new Map<string, { readonly stamp: string; readonly anchors: TrustAnchors }>()

function unreadable(path: string, origin: string, why: string, cause?: unknown): AzurePgError {
  return new AzurePgError('INVALID_CONFIG', `The root certificate file "${path}" (from ${origin}) ${why}.`,
    { hint: 'Fix the path, or remove sslrootcert to trust the Azure roots that azure-pg-tls ships.', cause })
}

/**
 * The roots of a file named by sslrootcert: read and parsed once per process, and again only when the
 * file changes (its identity, size or modification time). Read so that a FIFO or device cannot block.
 */
async function fileAnchors(path: string, origin: string, ctx: TrustContext): Promise<TrustAnchors> {
  let stamp: string
  try {
    const info = await stat(path)
    stamp = `${info.dev}:${info.ino}:${info.size}:${Math.floor(info.mtimeMs)}`
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw unreadable(path, origin, `cannot be read${code === undefined ? '' : ` (${code})`}`, cause)
  }
  const known = fileMemo.get(path)
  if (known !== undefined && known.stamp === stamp) return known.anchors
  const read = await readSmallFile(path, MAX_ROOT_FILE_BYTES, true)
  if (read.kind === 'missing') throw unreadable(path, origin, 'cannot be read (ENOENT)')
  if (read.kind === 'refused') throw unreadable(path, origin, read.why)
  let certs: X509Certificate[]
  try {
    certs = parseCertificates(read.data)
  } catch (cause) {
    throw new AzurePgError('INVALID_CONFIG', `The root certificate file "${path}" (from ${origin}) holds something that is not an X.509 certificate.`,
      { hint: 'Point sslrootcert at a PEM bundle of CA certificates.', cause })
  }
  if (certs.length === 0) {
    throw invalidConfig(`The root certificate file "${path}" (from ${origin}) holds no certificate.`, 'Point sslrootcert at a PEM bundle of CA certificates.')
  }
  for (const cert of certs) warnExpiry(cert, `"${path}"`, ctx)
  const anchors: TrustAnchors = { ca: certs.map((c) => c.toString()), description: `roots from ${path}`, source: 'file' }
  fileMemo.set(path, { stamp, anchors })
  return anchors
}

/**
 * Loads the roots a connection trusts. By default Azure's current roots (memo, cache, download or the
 * bundled copy: see store.ts), pin-checked, expired ones skipped; a file (`sslrootcert`), Node's built-in roots
 * (`sslrootcert=system`), or `ssl.ca` as given when the user asks.
 */
export async function loadTrustAnchors(spec: TrustSpec, ctx: TrustContext): Promise<TrustAnchors> {
  switch (spec.kind) {
    case 'inline':
      return { ca: spec.ca, description: 'ssl.ca', source: 'inline' }
    case 'system':
      return { ca: [...rootCertificates], description: "Node's built-in roots", source: 'system' }
    case 'file':
      return fileAnchors(spec.path, spec.origin, ctx)
    case 'azure': {
      let resolved = false
      const roots = await resolveAzureRoots(ctx.certs, ctx, () => { resolved = true })
      const origins = new Set(roots.map((r) => r.origin))
      const source = !resolved ? 'memo' : origins.has('download') ? 'download' : origins.has('bundled') ? 'bundled' : 'cache'
      return { ca: roots.map((r) => r.pem), description: `Azure roots (${roots.map((r) => `${r.root.name} from ${r.origin}`).join(', ')})`, source }
    }
  }
}
