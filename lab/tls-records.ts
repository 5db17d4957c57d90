// What can be read of PostgreSQL-over-TLS from the outside: the 8-byte SSLRequest and the TLS record
// headers (5 bytes each, in the clear). Shared by the relays of the lab (fault proxy, delay proxy).

/** The SSLRequest packet: length 8, code 80877103. */
export const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])

/** TLS record content types. */
export const TLS_CHANGE_CIPHER_SPEC = 20
export const TLS_ALERT = 21
export const TLS_HANDSHAKE = 22
export const TLS_APPLICATION_DATA = 23

/** Finds TLS record starts in a byte stream that arrives in arbitrary chunks. */
export class RecordScanner {
  private bodyLeft = 0
  private header: number[] = []

  /**
   * Offsets (within `chunk`) and content types of the records that start in it, with each record's
   * whole length (header included) when its header is complete within the chunk.
   */
  scan(chunk: Buffer): Array<{ offset: number; type: number; length?: number }> {
    const starts: Array<{ offset: number; type: number; length?: number }> = []
    let i = 0
    while (i < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - i)
        i += n
        this.bodyLeft -= n
        continue
      }
      const byte = chunk[i] ?? 0
      if (this.header.length === 0) starts.push({ offset: i, type: byte })
      this.header.push(byte)
      i++
      if (this.header.length === 5) {
        this.bodyLeft = ((this.header[3] ?? 0) << 8) | (this.header[4] ?? 0)
        const last = starts[starts.length - 1]
        if (last !== undefined && i - last.offset === 5) last.length = 5 + this.bodyLeft
        this.header = []
      }
    }
    return starts
  }
}

/**
 * The size of an alert record once TLS 1.3 has encrypted it as application data: 5-byte header,
 * 2-byte alert, 1-byte inner content type, 16-byte AEAD tag. No PostgreSQL message is that short
 * (the smallest is 5 bytes), so a 24-byte application-data record is an alert (close_notify).
 */
export const TLS13_ALERT_RECORD_LENGTH = 24
