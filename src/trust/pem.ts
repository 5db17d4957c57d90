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

/** Whole days from `now` until the certificate's notAfter; negative once it has expired. */
export function daysUntilExpiry(cert: X509Certificate, now: Date): number {
  return Math.floor((Date.parse(cert.validTo) - now.getTime()) / 86_400_000)
}

/** True when `now` is past the certificate's notAfter. */
export function isExpired(cert: X509Certificate, now: Date): boolean {
  return daysUntilExpiry(cert, now) < 0
}

/** The certificate's common name, or its whole subject when it has none. */
export function commonName(cert: X509Certificate): string {
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)
  return cn?.[1] ?? cert.subject.replace(/\n/g, ', ')
}
