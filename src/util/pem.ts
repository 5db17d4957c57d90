import { X509Certificate } from 'node:crypto'

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g

/**
 * Parses every certificate in a PEM bundle, or one DER certificate (what `.crt` downloads often are).
 * Throws the X.509 parser's error for a block that is not a certificate.
 */
export function parseCertificates(data: Buffer | string): X509Certificate[] {
  const text = typeof data === 'string' ? data : data.toString('latin1')
  const blocks = text.match(PEM_BLOCK)
  if (blocks !== null) return blocks.map((b) => new X509Certificate(b))
  if (typeof data === 'string' || data.length === 0) return []
  return [new X509Certificate(data)]
}

/** Whole days from `now` until an instant (milliseconds since the epoch); negative once it has passed. */
export function daysUntil(instant: number, now: Date): number {
  return Math.floor((instant - now.getTime()) / 86_400_000)
}

/** Whole days from `now` until the certificate's notAfter; negative once it has expired. */
export function daysUntilExpiry(cert: X509Certificate, now: Date): number {
  return daysUntil(Date.parse(cert.validTo), now)
}

/** Days from `now` until a PEM certificate's notAfter (negative once expired, or when it holds none). */
export function daysLeft(pem: string, now: Date): number {
  const [cert] = parseCertificates(pem)
  return cert === undefined ? -1 : daysUntilExpiry(cert, now)
}

/** True when `now` is past the certificate's notAfter. */
export function isExpired(cert: X509Certificate, now: Date): boolean {
  return daysUntilExpiry(cert, now) < 0
}

/** The CN of a distinguished name as X509Certificate prints it (one `key=value` a line), or the whole name without one. */
function nameOf(dn: string): string {
  return /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1] ?? dn.replace(/\n/g, ', ')
}

/** The certificate's common name, or its whole subject when it has none. */
export function commonName(cert: X509Certificate): string {
  return nameOf(cert.subject)
}

/** The common name of the certificate's issuer, or the whole issuer name when it has none. */
export function issuerName(cert: X509Certificate): string {
  return nameOf(cert.issuer)
}
