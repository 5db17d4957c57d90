// Property-based attack on the connection-string parser and resolver: strings of every form with
// passwords that hold / ? # & ; = @ spaces and quotes, pasted raw, encoded or mis-quoted. Whatever
// happens, a failure is an AzurePgError, an accepted string verifies fully, and no piece of the
// password shows in any message, hint, warning or inspected error.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import fc from 'fast-check'
import { resolveSettings } from '../../src/config/resolve.js'
import { parseConnectionString } from '../../src/index.js'
import { AzurePgError } from '../../src/errors.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const USER = 'myadmin'

// Rare letters mark password text: SDK messages never hold two of them within four characters.
const RARE = 'XQZKVxqz'
const password = fc.string({ unit: fc.constantFrom(...RARE, '7', '9', '/', '?', '#', '&', ';', '=', '@', ':', ' ', "'", '"', '%', '+', ',', '\\', '[', ']', '\t'), minLength: 1, maxLength: 16 })
const mode = fc.constantFrom('require', 'verify-full', 'verify-ca', 'Require', 'VerifyFull', 'disable', 'prefer', 'allow', 'no-verify')

/** How a password is pasted into each form: correctly, raw, or wrongly quoted. */
const pasted = {
  uri: (pw: string, how: number): string => [encodeURIComponent(pw), pw, pw.replace(/@/g, '%40')][how % 3] ?? pw,
  keyvalue: (pw: string, how: number): string => [`'${pw.replace(/[\\']/g, (c) => `\\${c}`)}'`, pw, `'${pw}'`, `"${pw}"`][how % 4] ?? pw,
  adonet: (pw: string, how: number): string => [`"${pw.replace(/"/g, '""')}"`, pw, `"${pw}"`, `'${pw}'`][how % 4] ?? pw,
  jdbc: (pw: string, how: number): string => [encodeURIComponent(pw), pw, pw.replace(/&/g, '%26')][how % 3] ?? pw,
}

const connectionString = fc.record({ form: fc.constantFrom('uri', 'uriQuery', 'keyvalue', 'adonet', 'jdbc') as fc.Arbitrary<'uri' | 'uriQuery' | 'keyvalue' | 'adonet' | 'jdbc'>, pw: password, how: fc.nat(11), mode, passwordLast: fc.boolean() })
  .map(({ form, pw, how, mode, passwordLast }) => {
    let text: string
    let secret: string
    if (form === 'uri') {
      secret = pasted.uri(pw, how)
      text = `postgresql://${USER}:${secret}@${HOST}:5432/postgres?sslmode=${mode}`
    } else if (form === 'uriQuery') {
      secret = pasted.uri(pw, how)
      text = passwordLast ? `postgres://${HOST}/postgres?user=${USER}&sslmode=${mode}&password=${secret}` : `postgres://${HOST}/postgres?password=${secret}&user=${USER}&ssl=true`
    } else if (form === 'keyvalue') {
      secret = pasted.keyvalue(pw, how)
      const pairs = [`host=${HOST}`, `user=${USER}`, `sslmode=${mode}`]
      text = (passwordLast ? [...pairs, `password=${secret}`] : [`password=${secret}`, ...pairs]).join(' ')
    } else if (form === 'adonet') {
      secret = pasted.adonet(pw, how)
      const pairs = [`Server=${HOST}`, `User Id=${USER}`, `Ssl Mode=${mode}`]
      text = `${(passwordLast ? [...pairs, `Password=${secret}`] : [`Password=${secret}`, ...pairs]).join(';')};`
    } else {
      secret = pasted.jdbc(pw, how)
      text = passwordLast ? `jdbc:postgresql://${HOST}:5432/postgres?user=${USER}&sslmode=${mode}&password=${secret}` : `jdbc:postgresql://${HOST}/postgres?password=${secret}&user=${USER}&ssl`
    }
    return { text, pw, secret }
  })

/** Four-character pieces of the password that carry two rare letters and are not in the rest of the string. */
function fragments(pw: string, known: string): string[] {
  const out: string[] = []
  for (let i = 0; i + 4 <= pw.length; i++) {
    const f = pw.slice(i, i + 4)
    if ([...f].filter((c) => RARE.includes(c)).length >= 2 && !known.includes(f)) out.push(f)
  }
  return out
}

function assertNoLeak(output: string, pw: string, text: string, secret: string): void {
  const known = text.split(secret).join('\u0000')
  for (const f of [...fragments(pw, known), ...fragments(decodeURIComponentSafe(secret), known)]) {
    assert.ok(!output.includes(f), `password fragment ${JSON.stringify(f)} of ${JSON.stringify(text)} appears in: ${output}`)
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

const PARAMS = { seed: 20250518, numRuns: 3000 }

describe('connection strings, property-based', () => {
  it('fail only with AzurePgError, verify fully when accepted, and never show the password', () => {
    let accepted = 0
    fc.assert(fc.property(connectionString, ({ text, pw, secret }) => {
      let settings
      try {
        settings = resolveSettings({ connectionString: text }, {})
      } catch (err) {
        assert.ok(err instanceof AzurePgError, `not an AzurePgError: ${String(err)} for ${JSON.stringify(text)}`)
        assert.ok(['INVALID_CONFIG', 'INSECURE_TLS'].includes(err.code), err.code)
        assertNoLeak(`${err.message}\n${err.hint}\n${inspect(err, { depth: 5 })}`, pw, text, secret)
        return
      }
      accepted++
      assert.ok(['verify-full', 'require', 'verify-ca'].includes(settings.tls.requestedMode), settings.tls.requestedMode)
      assert.deepEqual(settings.tls.trust, { kind: 'azure' })
      assertNoLeak(settings.warnings.join('\n'), pw, text, secret)
      // No host or address is ever made of password text.
      assertNoLeak(`${settings.host}\n${settings.connectHost}`, pw, text, secret)
    }), PARAMS)
    // The checks of an accepted string ran on some inputs, not none.
    assert.ok(accepted > 0, 'no generated connection string was accepted')
  })

  it('throw nothing but AzurePgError on arbitrary text after each form\'s prefix', () => {
    const tail = fc.string({ unit: fc.constantFrom(...'aXQ7:/?#&;=@[]%+,"\' \\\t=hostpassword'), maxLength: 40 })
    const prefix = fc.constantFrom('', 'postgresql://', 'postgres://', 'jdbc:postgresql:', 'jdbc:postgresql://', 'host=', 'Server=', 'password=')
    fc.assert(fc.property(prefix, tail, (p, t) => {
      try {
        parseConnectionString(p + t)
      } catch (err) {
        assert.ok(err instanceof AzurePgError, `not an AzurePgError: ${String(err)} for ${JSON.stringify(p + t)}`)
      }
    }), PARAMS)
  })
})
