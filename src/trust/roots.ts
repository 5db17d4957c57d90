import type { RootSet } from '../options.js'

/** One root certificate authority Azure Database for PostgreSQL chains to. */
export interface AzureRoot {
  /** Stable identifier; also the bundled file name (`certs/<id>.pem`). */
  readonly id: string
  /** The certificate's common name. */
  readonly name: string
  /** SHA-256 of the DER certificate, upper-case hex with colons (as `X509Certificate.fingerprint256` prints it). */
  readonly sha256: string
  /** Official download address. */
  readonly url: string
  /** Encoding served at `url`. */
  readonly format: 'PEM' | 'DER'
  /** The certificate's notAfter date (UTC, YYYY-MM-DD). */
  readonly notAfter: string
  /** Trusted unless the user names other roots. */
  readonly trustedByDefault: boolean
  /**
   * Trusted with `certs.roots: 'all'`: a currently valid root on Microsoft's "Azure Certificate Authority
   * details" page. False only for a legacy root Azure no longer uses.
   */
  readonly trustedWithAll: boolean
  /** Why Azure uses it. */
  readonly role: string
  /** Where these facts come from. */
  readonly source: string
}

/**
 * Azure's PostgreSQL roots. Source: docs/azure-facts.md "Root CAs the SDK pins"
 * (Azure docs articles/postgresql/security/security-tls.md, 2025-12; fingerprints checked against
 * Node 20's built-in store and Debian's ca-certificates). Pin roots only: Azure rotates intermediates.
 */
export const AZURE_ROOTS: readonly AzureRoot[] = [
  {
    id: 'digicert-global-root-g2',
    name: 'DigiCert Global Root G2',
    sha256: 'CB:3C:CB:B7:60:31:E5:E0:13:8F:8D:D3:9A:23:F9:DE:47:FF:C3:5E:43:C1:14:4C:EA:27:D4:6A:5A:B1:CB:5F',
    url: 'https://cacerts.digicert.com/DigiCertGlobalRootG2.crt.pem',
    format: 'PEM',
    notAfter: '2038-01-15',
    trustedByDefault: true,
    trustedWithAll: true,
    role: 'current root, all regions',
    source: 'Azure docs articles/postgresql/security/security-tls.md (MicrosoftDocs/azure-databases-docs, 2025-12); pin checked against Node 20 tls.rootCertificates and Debian ca-certificates',
  },
  {
    id: 'microsoft-rsa-root-ca-2017',
    name: 'Microsoft RSA Root Certificate Authority 2017',
    sha256: 'C7:41:F7:0F:4B:2A:8D:88:BF:2E:71:C1:41:22:EF:53:EF:10:EB:A0:CF:A5:E6:4C:FA:20:F4:18:85:30:73:E0',
    url: 'https://www.microsoft.com/pkiops/certs/Microsoft%20RSA%20Root%20Certificate%20Authority%202017.crt',
    format: 'DER',
    notAfter: '2042-07-18',
    trustedByDefault: true,
    trustedWithAll: true,
    role: 'current root, all regions (dual-signed chain since Nov 2025)',
    source: 'Azure docs articles/postgresql/security/security-tls.md (MicrosoftDocs/azure-databases-docs, 2025-12); pin checked against Node 20 tls.rootCertificates and Debian ca-certificates',
  },
  {
    id: 'digicert-global-root-ca',
    name: 'DigiCert Global Root CA',
    sha256: '43:48:A0:E9:44:4C:78:CB:26:5E:05:8D:5E:89:44:B4:D8:4F:96:62:BD:26:DB:25:7F:89:34:A4:43:C7:01:61',
    url: 'https://cacerts.digicert.com/DigiCertGlobalRootCA.crt.pem',
    format: 'PEM',
    notAfter: '2031-11-10',
    trustedByDefault: true,
    trustedWithAll: true,
    role: 'Azure China regions and older Flexible servers',
    source: 'Azure docs articles/postgresql/security/security-tls.md (MicrosoftDocs/azure-databases-docs, 2025-12); pin checked against Node 20 tls.rootCertificates and Debian ca-certificates',
  },
  // Microsoft's "best" tier for PostgreSQL (security-tls.md) trusts the complete set of Azure roots that the
  // "Azure Certificate Authority details" page lists (learn.microsoft.com, azure/security/fundamentals/azure-ca-details).
  // The four below complete that set; PostgreSQL servers chain to the three above today. Pins and expiry dates
  // were taken from Node 20's tls.rootCertificates (and agree with Debian's ca-certificates); the bundled copies
  // in certs/ are Node's PEM text, checked against these pins by test/unit/all-roots.test.ts.
  {
    id: 'digicert-global-root-g3',
    name: 'DigiCert Global Root G3',
    sha256: '31:AD:66:48:F8:10:41:38:C7:38:F3:9E:A4:32:01:33:39:3E:3A:18:CC:02:29:6E:F9:7C:2A:C9:EF:67:31:D0',
    url: 'https://cacerts.digicert.com/DigiCertGlobalRootG3.crt.pem',
    format: 'PEM',
    notAfter: '2038-01-15',
    trustedByDefault: false,
    trustedWithAll: true,
    role: 'Azure root CA (ECDSA P-384); trusted with certs.roots "all"',
    source: 'listed on learn.microsoft.com "Azure Certificate Authority details"; URL: DigiCert\'s cacerts.digicert.com <Name>.crt.pem pattern, the same host and pattern as the G2 and Global Root CA files Azure\'s PostgreSQL docs link (not checked against the live page from this machine); pin from Node 20 tls.rootCertificates',
  },
  {
    id: 'microsoft-ecc-root-ca-2017',
    name: 'Microsoft ECC Root Certificate Authority 2017',
    sha256: '35:8D:F3:9D:76:4A:F9:E1:B7:66:E9:C9:72:DF:35:2E:E1:5C:FA:C2:27:AF:6A:D1:D7:0E:8E:4A:6E:DC:BA:02',
    url: 'https://www.microsoft.com/pkiops/certs/Microsoft%20ECC%20Root%20Certificate%20Authority%202017.crt',
    format: 'DER',
    notAfter: '2042-07-18',
    trustedByDefault: false,
    trustedWithAll: true,
    role: 'Azure root CA (ECDSA P-384); trusted with certs.roots "all"',
    source: 'listed on learn.microsoft.com "Azure Certificate Authority details", which links this pkiops URL (the same pattern as the RSA 2017 root\'s); pin from Node 20 tls.rootCertificates',
  },
  {
    id: 'digicert-tls-ecc-p384-root-g5',
    name: 'DigiCert TLS ECC P384 Root G5',
    sha256: '01:8E:13:F0:77:25:32:CF:80:9B:D1:B1:72:81:86:72:83:FC:48:C6:E1:3B:E9:C6:98:12:85:4A:49:0C:1B:05',
    url: 'https://cacerts.digicert.com/DigiCertTLSECCP384RootG5.crt.pem',
    format: 'PEM',
    notAfter: '2046-01-14',
    trustedByDefault: false,
    trustedWithAll: true,
    role: 'Azure root CA (ECDSA P-384); trusted with certs.roots "all"',
    source: 'listed on learn.microsoft.com "Azure Certificate Authority details"; URL: DigiCert\'s cacerts.digicert.com <Name>.crt.pem pattern (not checked against the live page from this machine); pin from Node 20 tls.rootCertificates',
  },
  {
    id: 'digicert-tls-rsa4096-root-g5',
    name: 'DigiCert TLS RSA4096 Root G5',
    sha256: '37:1A:00:DC:05:33:B3:72:1A:7E:EB:40:E8:41:9E:70:79:9D:2B:0A:0F:2C:1D:80:69:31:65:F7:CE:C4:AD:75',
    url: 'https://cacerts.digicert.com/DigiCertTLSRSA4096RootG5.crt.pem',
    format: 'PEM',
    notAfter: '2046-01-14',
    trustedByDefault: false,
    trustedWithAll: true,
    role: 'Azure root CA (RSA 4096); trusted with certs.roots "all"',
    source: 'listed on learn.microsoft.com "Azure Certificate Authority details"; URL: DigiCert\'s cacerts.digicert.com <Name>.crt.pem pattern (not checked against the live page from this machine); pin from Node 20 tls.rootCertificates',
  },
  {
    id: 'baltimore-cybertrust-root',
    name: 'Baltimore CyberTrust Root',
    sha256: '16:AF:57:A9:F6:76:B0:AB:12:60:95:AA:5E:BA:DE:F2:2A:B3:11:19:D6:44:AC:95:CD:4B:93:DB:F3:F2:6A:EB',
    url: 'https://www.digicert.com/CACerts/BaltimoreCyberTrustRoot.crt.pem',
    format: 'PEM',
    notAfter: '2025-05-12',
    trustedByDefault: false,
    trustedWithAll: false,
    role: 'legacy Single Server root; expired 2025-05-12, never trusted by default',
    source: 'azure-docs single-server/concepts-ssl-connection-security.md (the seed document) and concepts-certificate-rotation.md; pin checked against Debian ca-certificates',
  },
]

/** The manifest entry whose pin matches a fingerprint, if any. */
export function rootByFingerprint(sha256: string): AzureRoot | undefined {
  const fp = sha256.toUpperCase()
  return AZURE_ROOTS.find((r) => r.sha256 === fp)
}

/** The manifest entries of a root set, in manifest order. */
export function rootsOf(set: RootSet): readonly AzureRoot[] {
  return AZURE_ROOTS.filter((r) => (set === 'all' ? r.trustedWithAll : r.trustedByDefault))
}
