// libpq's key=value grammar (conninfo_parse in PostgreSQL's fe-connect.c), read the same way.
import { isCSpace, reject, type RawPair } from './grammar.js'
import { keyLabel, positionAfter } from './vocabulary.js'

const HINT = "Write each setting as key=value, separated by spaces; put values holding spaces in single quotes ('a b'), with \\' and \\\\ inside."

/**
 * Pairs separated by white space. A key runs to `=` or white space, and only white space may come
 * between it and its `=`. White space after `=` is skipped, so `host= port=1` gives host the value
 * `port=1`, as in libpq. A value is unquoted (up to white space) or single-quoted; in both a backslash
 * takes the next character literally, and a backslash at the very end is dropped. Nothing needs to
 * separate a closing quote from the next key.
 */
export function parseKeyValue(text: string): RawPair[] {
  const pairs: RawPair[] = []
  const n = text.length
  let i = 0
  while (i < n) {
    if (isCSpace(text[i])) {
      i++
      continue
    }
    let key = ''
    while (i < n && text[i] !== '=' && !isCSpace(text[i])) key += text[i++]
    while (i < n && isCSpace(text[i])) i++
    const after = pairs[pairs.length - 1]?.key
    if (text[i] !== '=') {
      reject(`a setting ${positionAfter('keyvalue', after)} has no "="`, HINT)
    }
    if (key === '') reject(`a setting ${positionAfter('keyvalue', after)} has an empty key`, HINT)
    i++
    while (i < n && isCSpace(text[i])) i++
    let value = ''
    if (text[i] === "'") {
      i++
      for (;;) {
        if (i >= n) reject(`the value of ${keyLabel('keyvalue', key)} has an unterminated quote`, HINT)
        const c = text[i++]
        if (c === '\\') {
          if (i < n) value += text[i++]
        } else if (c === "'") break
        else value += c
      }
    } else {
      while (i < n && !isCSpace(text[i])) {
        const c = text[i++]
        if (c === '\\') {
          if (i < n) value += text[i++]
        } else value += c
      }
    }
    pairs.push({ key, value })
  }
  return pairs
}
