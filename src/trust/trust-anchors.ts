import { readFile } from 'node:fs/promises'
import { rootCertificates, type ConnectionOptions } from 'node:tls'
import { fileURLToPath } from 'node:url'
import type { X509Certificate } from 'node:crypto'
import { AzurePgError, invalidConfig } from '../errors.js'
import type { TrustSpec } from '../config/tls-policy.js'
import type { Logger } from '../log.js'
import { commonName, isExpired, parseCertificates } from './pem.js'
import { AZURE_ROOTS, rootByFingerprint, type AzureRoot } from './roots.js'

/** The roots a connection trusts, ready for `ssl.ca`. */
export interface TrustAnchors {
  readonly ca: NonNullable<ConnectionOptions['ca']>
  /** Where they came from, for messages: "Azure roots (bundled)", a file path, ... */
  readonly description: string
}

/** Seams of trust loading: the clock, the logger, and where the bundled roots live. */
export interface TrustContext {
  readonly logger: Logger
  readonly now: () => Date
  /** Folder of the bundled `<id>.pem` files; defaults to the package's `certs/`. */
  readonly bundledDir?: string
}

/** The package's `certs/` folder: two levels up from both `src/trust/` and `dist/trust/`. */
export const BUNDLED_CERTS_DIR = fileURLToPath(new URL('../../certs/', import.meta.url))

const bundledMemo = new Map<string, Promise<ReadonlyArray<{ root: AzureRoot; cert: X509Certificate }>>>()

/** Reads and pin-checks the bundled default roots once per process (per folder). */
function bundledRoots(dir: string): Promise<ReadonlyArray<{ root: AzureRoot; cert: X509Certificate }>> {
  let memo = bundledMemo.get(dir)
  if (memo === undefined) {
    memo = Promise.all(AZURE_ROOTS.filter((r) => r.trustedByDefault).map(async (root) => {
      const path = `${dir.replace(/\/$/, '')}/${root.id}.pem`
      const [cert] = parseCertificates(await readFile(path))
      if (cert?.fingerprint256 !== root.sha256) {
        throw new AzurePgError('CERT_PIN_MISMATCH', `The bundled root ${path} is not ${root.name}: its SHA-256 fingerprint does not match the pin.`,
          { hint: 'Reinstall azure-pg-tls: the package files were changed.' })
      }
      return { root, cert }
    }))
    memo.catch(() => bundledMemo.delete(dir))
    bundledMemo.set(dir, memo)
  }
  return memo
}

function warnExpiry(cert: X509Certificate, where: string, ctx: TrustContext): boolean {
  if (!isExpired(cert, ctx.now())) return false
  const known = rootByFingerprint(cert.fingerprint256)
  const legacy = known !== undefined && !known.trustedByDefault
    ? ` ${known.name} is no longer used by Azure; remove sslrootcert to trust Azure's current roots.`
    : ''
  ctx.logger.warn(`${commonName(cert)} in ${where} expired on ${cert.validTo}.${legacy}`)
  return true
}

async function fileAnchors(path: string, origin: string, ctx: TrustContext): Promise<TrustAnchors> {
  let data: Buffer
  try {
    data = await readFile(path)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw new AzurePgError('INVALID_CONFIG', `The root certificate file "${path}" (from ${origin}) cannot be read${code === undefined ? '' : ` (${code})`}.`,
      { hint: 'Fix the path, or remove sslrootcert to trust the Azure roots that azure-pg-tls ships.', cause })
  }
  let certs: X509Certificate[]
  try {
    certs = parseCertificates(data)
  } catch (cause) {
    throw new AzurePgError('INVALID_CONFIG', `The root certificate file "${path}" (from ${origin}) holds something that is not an X.509 certificate.`,
      { hint: 'Point sslrootcert at a PEM bundle of CA certificates.', cause })
  }
  if (certs.length === 0) {
    throw invalidConfig(`The root certificate file "${path}" (from ${origin}) holds no certificate.`, 'Point sslrootcert at a PEM bundle of CA certificates.')
  }
  for (const cert of certs) warnExpiry(cert, `"${path}"`, ctx)
  return { ca: certs.map((c) => c.toString()), description: `roots from ${path}` }
}

/**
 * Loads the roots a connection trusts. By default Azure's current roots from the package's `certs/`,
 * pin-checked, expired ones skipped; a file (`sslrootcert`), Node's built-in roots
 * (`sslrootcert=system`), or `ssl.ca` as given when the user asks.
 */
export async function loadTrustAnchors(spec: TrustSpec, ctx: TrustContext): Promise<TrustAnchors> {
  switch (spec.kind) {
    case 'inline':
      return { ca: spec.ca, description: 'ssl.ca' }
    case 'system':
      return { ca: [...rootCertificates], description: "Node's built-in roots" }
    case 'file':
      return fileAnchors(spec.path, spec.origin, ctx)
    case 'azure': {
      const roots = await bundledRoots(ctx.bundledDir ?? BUNDLED_CERTS_DIR)
      const usable = roots.filter(({ cert }) => !warnExpiry(cert, 'the bundled Azure roots', ctx))
      if (usable.length === 0) {
        throw new AzurePgError('CERT_UNAVAILABLE', 'Every bundled Azure root certificate has expired.', {
          hint: 'Update azure-pg-tls, or pass sslrootcert with current roots.',
        })
      }
      return { ca: usable.map(({ cert }) => cert.toString()), description: `Azure roots (${usable.map(({ root }) => root.name).join(', ')})` }
    }
  }
}
