// Microsoft's ranking of TLS setups for Azure Database for PostgreSQL (Azure docs security-tls.md):
// "best" is TLS 1.3, verify-full and the complete set of Azure root CAs; "good" is verify-full with the
// roots PostgreSQL servers chain to (DigiCert Global Root G2 and Microsoft RSA Root CA 2017). The SDK is
// always verify-full, so the tier depends only on the roots and the lowest TLS version allowed.
import type { RootSet } from '../options.js'
import type { TrustSpec } from '../config/tls-policy.js'

/** `best` and `good` as Microsoft names them; `custom` when the user chose the roots (sslrootcert, ssl.ca). */
export type TrustTier = 'best' | 'good' | 'custom'

/** What the tier depends on; `Settings` fits as it is. */
export interface TierInput {
  readonly tls: {
    readonly trust: { readonly kind: TrustSpec['kind'] }
    readonly extraSsl: { readonly minVersion?: string | undefined }
  }
  readonly certs: { readonly roots: RootSet }
}

/** The tier of a configuration. Pure. */
export function trustTier(settings: TierInput): TrustTier {
  if (settings.tls.trust.kind !== 'azure') return 'custom'
  return settings.certs.roots === 'all' && settings.tls.extraSsl.minVersion === 'TLSv1.3' ? 'best' : 'good'
}

/** One line saying the tier of a configuration and, below "best", what would reach it. */
export function describeTier(settings: TierInput): string {
  const tier = trustTier(settings)
  if (tier === 'custom') return 'trust tier: custom (roots chosen with sslrootcert or ssl.ca; Microsoft\'s tiers assume Azure\'s roots)'
  if (tier === 'best') return 'trust tier: best (every current Azure root, TLS 1.3 minimum, verify-full)'
  const missing = [
    ...(settings.certs.roots === 'all' ? [] : ['certs.roots \'all\' (AZURE_PG_TLS_ROOTS=all)']),
    ...(settings.tls.extraSsl.minVersion === 'TLSv1.3' ? [] : ['ssl.minVersion \'TLSv1.3\'']),
  ]
  return `trust tier: good (verify-full with Azure's roots); "best" needs ${missing.join(' and ')}`
}
