// The field table: one source for precedence, known connection-string keys and the options table of docs/options.md.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { FIELDS, fieldsTable, STRING_KEYS } from '../../src/config/fields.js'
import { parseConnectionString } from '../../src/config/connection-string.js'

describe('field table', () => {
  it('is what docs/options.md shows (regenerate with npm run docs:options)', () => {
    const page = readFileSync(new URL('../../docs/options.md', import.meta.url), 'utf8')
    const section = /<!-- options-table:start[^>]*-->\n([\s\S]*?)\n<!-- options-table:end -->/.exec(page)?.[1]
    assert.equal(section, fieldsTable())
  })

  it('names each field once, and each option, string key and variable in one row only', () => {
    const names = FIELDS.map((f) => f.name)
    assert.equal(new Set(names).size, names.length)
    for (const pick of [(f: typeof FIELDS[number]) => (f.option === undefined ? [] : [f.option]), (f: typeof FIELDS[number]) => f.stringKeys ?? [], (f: typeof FIELDS[number]) => [...(f.env ?? []), ...(f.serviceConnector === undefined ? [] : [f.serviceConnector])]]) {
      const all = FIELDS.flatMap(pick)
      assert.equal(new Set(all).size, all.length, all.join(', '))
    }
  })

  it('decides which connection-string keys are known: the rest are reported, not used', () => {
    // Literal lists, not derived from the table under test.
    for (const key of ['host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'ssl', 'sslrootcert', 'sslnegotiation',
      'application_name', 'fallback_application_name', 'options', 'client_encoding', 'connect_timeout', 'sslcert', 'sslkey',
      'sslpassword', 'sslcrl', 'sslcrldir', 'trustservercertificate', 'sslfactory', 'target_session_attrs', 'load_balance_hosts']) {
      assert.ok(STRING_KEYS.has(key), key)
    }
    const parsed = parseConnectionString('host=h user=u target_session_attrs=any keepalives=1 sslcompression=0')
    assert.deepEqual(parsed.unknownKeys, ['keepalives', 'sslcompression'])
    assert.deepEqual(Object.keys(parsed.params).sort(), ['host', 'target_session_attrs', 'user'])
  })
})
