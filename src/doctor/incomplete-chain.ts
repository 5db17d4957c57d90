import type { X509Certificate } from 'node:crypto'
import { commonName, issuerName } from '../util/pem.js'
import { isSelfSigned, issuingRoots, type CandidateRoot } from './chain.js'

/** OpenSSL's verdicts for "the issuer of a certificate in the chain could not be found". */
const ISSUER_NOT_FOUND = new Set(['UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'])

/** What the doctor knows when a chain did not verify. */
export interface UnverifiedChain {
  /** Node's authorization error code, e.g. `UNABLE_TO_GET_ISSUER_CERT_LOCALLY`. */
  readonly errorCode: string
  /** The certificates the server sent, leaf first. */
  readonly sent: readonly X509Certificate[]
  /** Every root that could vouch for a chain (trust set, Azure's roots, Node's store). */
  readonly candidates: readonly CandidateRoot[]
  /** How the trust set is described to the user, e.g. "roots from /path/ca.pem". */
  readonly trustDescription: string
}

/**
 * Says "the server sent an incomplete chain", naming the certificate it left out, when the chain stops
 * at a certificate that is not a root and whose issuer no known root is. Azure's 2026 chains need a
 * cross-certificate (Microsoft TLS RSA Root G2, signed by DigiCert Global Root G2); a server that omits
 * it fails exactly like this. From the client alone, a missing intermediate cannot be told apart from
 * an unknown root that was (as usual) not sent, so the text names both readings.
 * Returns undefined when the failure is of another kind.
 */
export function incompleteChainVerdict(chain: UnverifiedChain): string | undefined {
  if (!ISSUER_NOT_FOUND.has(chain.errorCode)) return undefined
  const top = chain.sent[chain.sent.length - 1]
  if (top === undefined) return undefined
  if (isSelfSigned(top) || issuingRoots(top, chain.candidates).length > 0) return undefined
  const missing = issuerName(top)
  return `the server sent an incomplete chain: ${commonName(top)} was issued by ${missing}, which the server did not send. ` +
    `${missing} is not in your trust set (${chain.trustDescription}), not an Azure root, and not in Node's built-in store: ` +
    'if it is an intermediate or cross-certificate, the server must send it; if it is a root, this is not your Azure server, or something intercepts TLS'
}
