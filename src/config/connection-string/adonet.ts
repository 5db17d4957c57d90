// ADO.NET connection strings as .NET's DbConnectionStringBuilder reads them (the state machine of
// DbConnectionOptions.GetKeyValuePair, non-ODBC rules), for Npgsql's keywords.
import { reject, type RawPair } from './grammar.js'
import { keyLabel, positionAfter } from './vocabulary.js'

const HINT = 'Write each setting as Key=Value;. Put a value holding ";", a leading quote or edge spaces in double quotes ("a;b", with "" for a quote inside) or single quotes; write "=" in a key as "==".'

/** The characters of .NET's `char.IsWhiteSpace`, as a regular-expression class body. */
const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'
const WHITE_SPACE = new RegExp(`^[${WS}]$`)

/** .NET's `char.IsWhiteSpace`. */
function isWhiteSpace(c: string): boolean {
  return WHITE_SPACE.test(c)
}

/** .NET's `char.IsControl`. */
function isControl(c: string): boolean {
  return /[\u0000-\u001f\u007f-\u009f]/.test(c)
}

type State = 'nothing' | 'key' | 'keyEqual' | 'keyEnd' | 'unquoted' | 'dq' | 'dqQuote' | 'sq' | 'sqQuote' | 'quotedEnd' | 'nul'
/** What one character does: kept in the value or key, skipped, ends the pair, or is looked at again in a new state. */
type Step = 'append' | 'skip' | 'exit' | 'again'

/**
 * Pairs separated by `;`. A key runs to `=` (`==` is a literal `=`, and `;` inside a key is just a
 * character); its trailing white space is dropped and it is compared case-insensitively. A value is
 * unquoted (up to `;`, trimmed, and it must not end in a quote), or quoted with `"` or `'`, the quote
 * doubled inside, and after the closing quote only white space and then `;` or the end may follow.
 * `Key=;` gives the key no value. The last of several equal keys wins.
 */
export function parseAdoNet(text: string): RawPair[] {
  const pairs: RawPair[] = []
  let pos = 0
  while (pos < text.length) {
    const { next, pair } = onePair(text, pos, pairs[pairs.length - 1]?.key)
    pos = next
    if (pair !== undefined) pairs.push(pair)
  }
  return pairs
}

const TRAILING_SPACE = new RegExp(`[${WS}]+$`)
const EDGE_SPACE = new RegExp(`^[${WS}]+|[${WS}]+$`, 'g')

function onePair(text: string, start: number, previous: string | undefined): { next: number; pair: RawPair | undefined } {
  const where = (): string => positionAfter('adonet', previous)
  let state = 'nothing' as State
  let buffer = ''
  let key: string | undefined
  let value: string | undefined
  const malformed = (): never => reject(key === undefined ? `a key ${where()} has a control character` : `the value of ${keyLabel('adonet', key)} has a control character`, HINT)
  const keyName = (): string => {
    const name = buffer.replace(TRAILING_SPACE, '')
    if (name === '') reject(`a key ${where()} is empty`, HINT)
    return name
  }
  const step = (c: string): Step => {
    switch (state) {
      case 'nothing':
        if (c === ';' || isWhiteSpace(c)) return 'skip'
        if (c === '\0') { state = 'nul'; return 'skip' }
        if (isControl(c)) malformed()
        if (c === '=') { state = 'keyEqual'; return 'skip' }
        state = 'key'
        return 'append'
      case 'key':
        if (c === '=') { state = 'keyEqual'; return 'skip' }
        if (!isWhiteSpace(c) && isControl(c)) malformed()
        return 'append'
      case 'keyEqual':
        if (c === '=') { state = 'key'; return 'append' }
        key = keyName()
        buffer = ''
        state = 'keyEnd'
        return 'again'
      case 'keyEnd':
        if (isWhiteSpace(c)) return 'skip'
        if (c === "'") { state = 'sq'; return 'skip' }
        if (c === '"') { state = 'dq'; return 'skip' }
        if (c === ';' || c === '\0') return 'exit'
        if (isControl(c)) malformed()
        state = 'unquoted'
        return 'append'
      case 'unquoted':
        return !isWhiteSpace(c) && (isControl(c) || c === ';') ? 'exit' : 'append'
      case 'dq':
      case 'sq':
        if (c === (state === 'dq' ? '"' : "'")) { state = state === 'dq' ? 'dqQuote' : 'sqQuote'; return 'skip' }
        if (c === '\0') reject(`the value of ${keyLabel('adonet', key)} has a NUL character inside quotes`, HINT)
        return 'append'
      case 'dqQuote':
      case 'sqQuote':
        // A doubled quote is one quote character; anything else ends the value.
        if (c === (state === 'dqQuote' ? '"' : "'")) { state = state === 'dqQuote' ? 'dq' : 'sq'; return 'append' }
        value = buffer
        state = 'quotedEnd'
        return 'again'
      case 'quotedEnd':
        if (isWhiteSpace(c)) return 'skip'
        if (c === ';') return 'exit'
        if (c === '\0') { state = 'nul'; return 'skip' }
        return reject(`the value of ${keyLabel('adonet', key)} has text after its closing quote`, HINT)
      case 'nul':
        if (c === '\0' || isWhiteSpace(c)) return 'skip'
        return reject('the string has text after a NUL character', HINT)
    }
  }
  let c = '\0'
  let pos = start
  for (; pos < text.length; pos++) {
    c = text[pos] ?? '\0'
    let action = step(c)
    while (action === 'again') action = step(c)
    if (action === 'exit') break
    if (action === 'append') buffer += c
  }
  switch (state) {
    case 'key':
      return reject(`a key ${where()} has no "="`, HINT)
    case 'dq':
    case 'sq':
      return reject(`the value of ${keyLabel('adonet', key)} has an unterminated quote`, HINT)
    case 'keyEqual':
      key = keyName()
      break
    case 'unquoted': {
      value = buffer.replace(EDGE_SPACE, '')
      const last = value[value.length - 1]
      if (last === "'" || last === '"') reject(`the unquoted value of ${keyLabel('adonet', key)} ends with a quote`, HINT)
      break
    }
    case 'dqQuote':
    case 'sqQuote':
      value = buffer
      break
    default:
      break
  }
  if (c === ';' && pos < text.length) pos++
  return { next: pos, pair: key === undefined ? undefined : { key, value } }
}
