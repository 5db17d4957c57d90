// A throwaway PKI for tests and the demo: a root CA, an intermediate (Azure's chains have one),
// and server certificates with chosen names and validity. EC P-256 keys keep generation fast.
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

// Node's webcrypto is the Web Crypto API the library expects; the DOM lib types are not loaded here.
x509.cryptoProvider.set(webcrypto as never)

type CryptoKey = webcrypto.CryptoKey
type CryptoKeyPair = webcrypto.CryptoKeyPair

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY = 86_400_000

export interface Authority {
  readonly name: string
  readonly cert: x509.X509Certificate
  readonly keys: CryptoKeyPair
  /** PEM of this certificate. */
  readonly pem: string
}

export interface ServerCredentials {
  /** Leaf followed by the intermediate, as a server sends its chain. */
  readonly certChainPem: string
  readonly keyPem: string
  readonly leafPem: string
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1')
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key))
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`
}

async function newKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])
}

/** A self-signed root CA, valid from a day ago for ten years. */
export async function createRootCa(name: string): Promise<Authority> {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}, O=azure-pg-tls tests`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 3650 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { name, cert, keys, pem: cert.toString('pem') + '\n' }
}

/** An intermediate CA under `parent`, as Azure's server certificates have. */
export async function createIntermediate(parent: Authority, name: string): Promise<Authority> {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}, O=azure-pg-tls tests`,
    issuer: parent.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 1825 * DAY),
    signingKey: parent.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(parent.keys.publicKey),
    ],
  })
  return { name, cert, keys, pem: cert.toString('pem') + '\n' }
}

export interface LeafOptions {
  readonly dnsNames: readonly string[]
  readonly ipAddresses?: readonly string[]
  /** Validity window; defaults to a day ago until a year ahead. */
  readonly notBefore?: Date
  readonly notAfter?: Date
}

/** A TLS server certificate issued by `issuer`, with its chain (leaf + issuer). */
export async function issueServerCertificate(issuer: Authority, options: LeafOptions): Promise<ServerCredentials> {
  const keys = await newKeys()
  const names = [
    ...options.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(options.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${options.dnsNames[0] ?? 'server'}`,
    issuer: issuer.cert.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - DAY),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY),
    signingKey: issuer.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  })
  const leafPem = cert.toString('pem') + '\n'
  return { leafPem, certChainPem: leafPem + issuer.pem, keyPem: await keyPem(keys.privateKey) }
}

export const DAY_MS = DAY

/**
 * A cross-certificate: `subject`'s name and key, vouched for by `issuer`. This is how a new root
 * (Microsoft TLS RSA Root G2) chains to an old, widely trusted one (DigiCert Global Root G2) while it
 * is not yet in everybody's trust store.
 */
export async function crossSign(subject: Authority, issuer: Authority): Promise<Authority> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subject.cert.subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 1825 * DAY),
    signingKey: issuer.keys.privateKey,
    publicKey: subject.keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(subject.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    ],
  })
  // Same name and keys as `subject`, so anything `subject` signed also chains through this certificate.
  return { name: subject.name, cert, keys: subject.keys, pem: cert.toString('pem') + '\n' }
}

/**
 * The shape of Azure's 2026 server chains, with lab names:
 * leaf ← issuing CA ← "new root" (cross-signed by the old root) ← old root.
 */
export interface RotatedChain {
  /** The old, trusted root (DigiCert Global Root G2 in production). */
  readonly oldRoot: Authority
  /** The new root, self-signed (Microsoft TLS RSA Root G2 in production); not trusted by default. */
  readonly newRoot: Authority
  /** The new root's name and key, signed by the old root. */
  readonly cross: Authority
  /** The issuing CA, signed by the new root's key (Microsoft TLS G2 RSA CA OCSP nn in production). */
  readonly issuing: Authority
  /** The server's leaf and key; `leaf.certChainPem` is leaf + issuing CA only. */
  readonly leaf: ServerCredentials
  /** What a server sends, leaf first: complete (leaf, issuing, cross), cross omitted, and with the new root appended too. */
  readonly chains: { readonly full: string; readonly withoutCross: string; readonly withNewRoot: string }
}

/** Builds {@link RotatedChain} for a server certificate valid for `dnsNames`. */
export async function createRotatedChain(dnsNames: readonly string[]): Promise<RotatedChain> {
  const oldRoot = await createRootCa('Lab DigiCert Global Root G2')
  const newRoot = await createRootCa('Lab Microsoft TLS RSA Root G2')
  const cross = await crossSign(newRoot, oldRoot)
  const issuing = await createIntermediate(newRoot, 'Lab Microsoft TLS G2 RSA CA OCSP 02')
  const leaf = await issueServerCertificate(issuing, { dnsNames })
  return {
    oldRoot, newRoot, cross, issuing, leaf,
    chains: {
      full: leaf.leafPem + issuing.pem + cross.pem,
      withoutCross: leaf.leafPem + issuing.pem,
      withNewRoot: leaf.leafPem + issuing.pem + cross.pem + newRoot.pem,
    },
  }
}
