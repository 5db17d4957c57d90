import { X509Certificate } from 'node:crypto'
import type { DetailedPeerCertificate } from 'node:tls'
import { commonName, issuerName } from '../util/pem.js'

/** One certificate of the chain a server presented, as the doctor prints it. */
export interface ChainEntry {
  readonly subject: string
  readonly issuer: string
  readonly notAfter: string
  /** Subject alternative names (leaf only). */
  readonly altNames?: string
  readonly sha256: string
}

/** A root that could vouch for a chain, and where it was found. */
export interface CandidateRoot {
  readonly name: string
  /** 'trust set' (what the connection trusts), 'azure' (the manifest), 'system' (Node's built-in store). */
  readonly where: 'trust set' | 'azure' | 'system'
  readonly cert: X509Certificate
}

/** The certificates a server sent (and, once verified, the root), leaf first; each certificate once. */
export function peerChain(leaf: DetailedPeerCertificate): { entries: ChainEntry[]; certs: X509Certificate[] } {
  const entries: ChainEntry[] = []
  const certs: X509Certificate[] = []
  const seen = new Set<string>()
  let cert: DetailedPeerCertificate | undefined = leaf
  while (cert !== undefined && cert.raw !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256)
    const x509 = new X509Certificate(cert.raw)
    certs.push(x509)
    entries.push({
      subject: commonName(x509),
      issuer: issuerName(x509),
      notAfter: cert.valid_to,
      ...(entries.length === 0 && cert.subjectaltname !== undefined && { altNames: cert.subjectaltname }),
      sha256: cert.fingerprint256,
    })
    cert = cert.issuerCertificate
  }
  return { entries, certs }
}

/** A certificate that issued and signed itself: a root. */
export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey)
}

/**
 * The candidate roots that issued the top of a chain (by name and by signature). Used to say which
 * root a server chains to, and whether the trust set, Azure's roots or Node's store hold it.
 */
export function issuingRoots(top: X509Certificate, candidates: readonly CandidateRoot[]): CandidateRoot[] {
  // A self-signed top is itself the root: look for the same certificate.
  if (isSelfSigned(top)) {
    return candidates.filter((c) => c.cert.fingerprint256 === top.fingerprint256)
  }
  return candidates.filter((c) => {
    try {
      return top.checkIssued(c.cert) && top.verify(c.cert.publicKey)
    } catch {
      return false
    }
  })
}

/** Says which root the chain ends at and who holds it, for the handshake's verdict. */
export function rootVerdict(top: X509Certificate, candidates: readonly CandidateRoot[], trustDescription: string): string {
  const found = issuingRoots(top, candidates)
  const inTrust = found.find((c) => c.where === 'trust set')
  if (inTrust !== undefined) return `chains to ${inTrust.name}, which the trust set holds`
  const azure = found.find((c) => c.where === 'azure')
  if (azure !== undefined) return `this server chains to ${azure.name}, an Azure root which your trust set (${trustDescription}) lacks`
  const system = found.find((c) => c.where === 'system')
  if (system !== undefined) return `this server chains to ${system.name}, which is in Node's built-in store but is not an Azure root: something other than Azure (a TLS-inspecting proxy?) answers`
  return `this server chains to "${issuerName(top)}", which is not in your trust set (${trustDescription}), not an Azure root, and not in Node's built-in store: this is not your Azure server, or something intercepts TLS`
}
