// What the four grammars share: the pairs they produce, the one way they fail, and the decoders.
// Nothing here ever puts text from the connection string into a message: the text may hold a
// password that was pasted without quoting or encoding, so messages name positions and keys only.

/** One `key=value` item as a grammar found it: the key as written, the value decoded. */
export interface RawPair {
  readonly key: string
  /** Undefined when the grammar saw the key with no value at all (ADO.NET `Key=;`). */
  readonly value: string | undefined
}

/**
 * A string that does not follow a grammar. `problem` names a position class ("the port part of the
 * URI", "the value of key \"password\"") and never quotes the string; the facade turns it into
 * `INVALID_CONFIG`.
 */
export class GrammarError {
  constructor(readonly problem: string, readonly hint: string) {}
}

/** Throws a {@link GrammarError}. */
export function reject(problem: string, hint: string): never {
  throw new GrammarError(problem, hint)
}

/** C's `isspace` in the C locale, which libpq uses between key=value pairs. */
export function isCSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f'
}

const HEX = /^[0-9a-fA-F]$/
const PERCENT_HINT = 'Percent-encode reserved characters in URIs: @ as %40, : as %3A, / as %2F, ? as %3F, # as %23, & as %26, % as %25.'

/**
 * libpq's `conninfo_uri_decode`: `%` must be followed by two hex digits, `%00` is forbidden, every
 * other character is kept. libpq passes the bytes on as they are; a JavaScript string cannot carry
 * bytes that are not UTF-8, so those are refused too.
 */
export function decodeLibpq(part: string, where: string): string {
  if (!part.includes('%')) return part
  const bytes: number[] = []
  const input = Buffer.from(part, 'utf8')
  for (let i = 0; i < input.length; i++) {
    const b = input[i] ?? 0
    if (b !== 0x25) {
      bytes.push(b)
      continue
    }
    const hi = String.fromCharCode(input[i + 1] ?? 0)
    const lo = String.fromCharCode(input[i + 2] ?? 0)
    if (!HEX.test(hi) || !HEX.test(lo)) reject(`${where} has a malformed percent-encoding`, PERCENT_HINT)
    const v = Number.parseInt(hi + lo, 16)
    if (v === 0) reject(`${where} contains %00, which libpq forbids`, 'Remove %00: a NUL character cannot be part of a setting.')
    bytes.push(v)
    i += 2
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes))
  } catch {
    return reject(`${where} is not UTF-8 once percent-decoded`, PERCENT_HINT)
  }
}

/**
 * Java's `URLDecoder.decode(s, UTF-8)`, which pgjdbc applies to the database name and to parameter
 * values: `+` is a space; a run of `%xy` escapes is one UTF-8 byte sequence (malformed bytes become
 * U+FFFD, as in Java); each escape is read by `Integer.parseInt(xy, 16)`, which takes a sign, so `%+1`
 * is byte 1 and a negative or incomplete escape is an error.
 */
export function decodeJava(part: string, where: string): string {
  let out = ''
  let i = 0
  while (i < part.length) {
    const c = part[i]
    if (c === '+') {
      out += ' '
      i++
    } else if (c === '%') {
      const bytes: number[] = []
      while (i + 2 < part.length && part[i] === '%') {
        const m = /^([+-]?)([0-9a-fA-F]+)$/.exec(part.slice(i + 1, i + 3))
        if (m === null) reject(`${where} has a malformed percent-encoding`, PERCENT_HINT)
        const v = Number.parseInt(m[2] ?? '', 16) * (m[1] === '-' ? -1 : 1)
        if (v < 0) reject(`${where} has a malformed percent-encoding`, PERCENT_HINT)
        bytes.push(v)
        i += 3
      }
      if (i < part.length && part[i] === '%') reject(`${where} ends with an incomplete percent-encoding`, PERCENT_HINT)
      out += new TextDecoder('utf-8').decode(Uint8Array.from(bytes))
    } else {
      out += c
      i++
    }
  }
  return out
}

/**
 * A host without the brackets of an IPv6 address (`[::1]` → `::1`): pgjdbc and Npgsql keep them, and the name
 * the certificate is checked against has none.
 */
export function unbracket(host: string): string {
  return /^\[(.+)\]$/.exec(host)?.[1] ?? host
}
