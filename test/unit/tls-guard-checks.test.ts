// The connect-time guard's checks one by one, without a server: what a configuration must hold to be
// accepted (expectationOf), what pg is compared against just before it connects (checkBeforeConnect),
// and the session check at the end of the handshake (verifySession). Every refusal is INSECURE_TLS.
import assert from 'node:assert/strict'
import type { TLSSocket } from 'node:tls'
import { checkServerIdentity, createSecureContext, rootCertificates } from 'node:tls'
import { describe, it } from 'node:test'
import { secureContextFor } from '../../src/connect/tls-context.js'
import { assertSameSsl, checkBeforeConnect, copyOf, expectationOf, sdkIdentityCheck, verifySession, type PgConnectState } from '../../src/connect/tls-guard.js'
import { AzurePgError } from '../../src/errors.js'

const ROOT = rootCertificates[0] as string
const OTHER_ROOT = rootCertificates[1] as string

function insecure(e: unknown): boolean {
  return e instanceof AzurePgError && e.code === 'INSECURE_TLS' && /refused before connecting/.test(e.message) && /create a new client/.test(e.hint)
}

/** A configuration that verifies: the guard must accept it. */
function good(ssl: Record<string, unknown> = {}, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: 'db.example.com', port: 5432, ssl: { ca: [ROOT], rejectUnauthorized: true, minVersion: 'TLSv1.2', ...ssl }, ...more }
}

describe('expectationOf: what a configuration must hold', () => {
  it('accepts a verifying configuration and returns a frozen private copy with its destination', () => {
    const config = good({ ca: [ROOT], servername: 'db.example.com' }, { port: '6432', sslnegotiation: 'postgres' })
    const e = expectationOf(config)
    assert.equal(e.host, 'db.example.com')
    assert.equal(e.port, 6432)
    assert.equal(e.negotiation, 'postgres')
    assert.ok(Object.isFrozen(e.ssl))
    const ssl = config['ssl'] as Record<string, unknown>
    assert.notEqual(e.ssl, ssl)
    assert.deepEqual({ ...e.ssl }, { ca: [ROOT], rejectUnauthorized: true, minVersion: 'TLSv1.2', servername: 'db.example.com' })
    // A later change to the original's array is not in the copy.
    ;(ssl['ca'] as string[]).push(OTHER_ROOT)
    assert.deepEqual(e.ssl['ca'], [ROOT])
  })

  it('takes direct negotiation only when it is "direct"', () => {
    assert.equal(expectationOf(good({}, { sslnegotiation: 'direct' })).negotiation, 'direct')
    assert.equal(expectationOf(good({}, { sslnegotiation: 'postgres' })).negotiation, 'postgres')
    assert.equal(expectationOf(good()).negotiation, 'postgres')
    assert.equal(expectationOf(good({}, { sslnegotiation: 'auto' })).negotiation, 'postgres')
  })

  it('accepts TLS 1.3 as the lowest version, a ca given as one string or a Buffer, and an identity check of the SDK', () => {
    assert.doesNotThrow(() => expectationOf(good({ minVersion: 'TLSv1.3' })))
    assert.doesNotThrow(() => expectationOf(good({ ca: ROOT })))
    assert.doesNotThrow(() => expectationOf(good({ ca: Buffer.from(ROOT) })))
    const own = (): undefined => undefined
    assert.equal(sdkIdentityCheck(own), own)
    assert.doesNotThrow(() => expectationOf(good({ checkServerIdentity: own })))
  })

  it('accepts a TLS context the SDK built, and refuses one built elsewhere', () => {
    const sdk = secureContextFor('tls-guard-checks-test', { ca: [ROOT], minVersion: 'TLSv1.2' })
    assert.doesNotThrow(() => expectationOf(good({ secureContext: sdk })))
    assert.throws(() => expectationOf(good({ secureContext: createSecureContext({ ca: [ROOT] }) })), insecure)
  })

  it('refuses no TLS options at all', () => {
    for (const ssl of [undefined, null, true, 'require', 1]) {
      assert.throws(() => expectationOf({ host: 'h', port: 5432, ssl }), insecure, String(ssl))
    }
  })

  it('refuses rejectUnauthorized other than true', () => {
    for (const rejectUnauthorized of [false, undefined, 'true', 1]) {
      assert.throws(() => expectationOf(good({ rejectUnauthorized })), insecure, String(rejectUnauthorized))
    }
  })

  it('refuses a missing or empty ca', () => {
    for (const ca of [undefined, null, '', []]) {
      assert.throws(() => expectationOf(good({ ca })), insecure, JSON.stringify(ca) ?? 'undefined')
    }
  })

  it('refuses a lowest version under 1.2, or none', () => {
    for (const minVersion of [undefined, 'TLSv1.1', 'TLSv1', 'tlsv1.2']) {
      assert.throws(() => expectationOf(good({ minVersion })), insecure, String(minVersion))
    }
  })

  it('refuses an identity check of the user, whatever its kind', () => {
    for (const check of [() => undefined, (host: string, cert: never) => checkServerIdentity(host, cert), 'checkServerIdentity', {}]) {
      assert.throws(() => expectationOf(good({ checkServerIdentity: check })), insecure)
    }
  })

  it('refuses an identity check that is not a function, even one marked as the SDK\'s', () => {
    const marked = sdkIdentityCheck({ call: () => undefined })
    assert.throws(() => expectationOf(good({ checkServerIdentity: marked })), insecure)
  })

  it('refuses pskCallback, host, session and secureProtocol, each on its own', () => {
    for (const [key, value] of [['pskCallback', () => undefined], ['host', 'other.example.com'], ['session', Buffer.alloc(8)], ['secureProtocol', 'TLS_method']] as const) {
      assert.throws(() => expectationOf(good({ [key]: value })), insecure, key)
    }
  })
})

describe('copyOf', () => {
  it('copies arrays, keeps other values by identity, and has no prototype', () => {
    const ca = [ROOT]
    const buffer = Buffer.from('x')
    const f = (): undefined => undefined
    const copy = copyOf({ ca, buffer, f, n: 1 })
    assert.notEqual(copy['ca'], ca)
    assert.deepEqual(copy['ca'], [ROOT])
    assert.equal(copy['buffer'], buffer)
    assert.equal(copy['f'], f)
    assert.equal(copy['n'], 1)
    assert.equal(Object.getPrototypeOf(copy), null)
  })
})

describe('assertSameSsl', () => {
  const resolved = copyOf({ ca: [ROOT, Buffer.from(OTHER_ROOT)], rejectUnauthorized: true, minVersion: 'TLSv1.2' })
  it('accepts equal arrays and Buffers with the same bytes in other objects', () => {
    assert.doesNotThrow(() => assertSameSsl({ ca: [ROOT, Buffer.from(OTHER_ROOT)], rejectUnauthorized: true, minVersion: 'TLSv1.2' }, resolved))
  })
  it('refuses other bytes, another order, another length, an array for a value and the reverse, and no object', () => {
    const variants: unknown[] = [
      { ...resolved, ca: [ROOT, Buffer.from(ROOT)] },
      { ...resolved, ca: [Buffer.from(OTHER_ROOT), ROOT] },
      { ...resolved, ca: [ROOT] },
      { ...resolved, ca: [ROOT, Buffer.from(OTHER_ROOT), ROOT] },
      { ...resolved, ca: ROOT },
      { ...resolved, minVersion: ['TLSv1.2'] },
      // An array whose elements are the characters of the resolved string is still not that string.
      { ...resolved, minVersion: [...'TLSv1.2'] },
      { ...resolved, minVersion: 'TLSv1.3' },
      null, undefined, 'ssl', true,
    ]
    for (const v of variants) assert.throws(() => assertSameSsl(v, resolved), insecure)
  })
  it('refuses a key set to undefined that the resolved options do not have, and the reverse', () => {
    assert.throws(() => assertSameSsl({ ...resolved, servername: undefined }, resolved), insecure)
    assert.throws(() => assertSameSsl({ ...resolved }, copyOf({ ...resolved, servername: undefined })), insecure)
  })
})

describe('checkBeforeConnect', () => {
  const expected = expectationOf(good({}, { sslnegotiation: 'direct' }))
  const state = (over: Partial<PgConnectState> = {}): PgConnectState => ({
    host: 'db.example.com', port: 5432, ssl: { ...expected.ssl }, connectionSsl: { ...expected.ssl }, connectionNegotiation: 'direct', ...over,
  })
  it('accepts exactly what was resolved, the port also as a string', () => {
    assert.doesNotThrow(() => checkBeforeConnect(state(), expected))
    assert.doesNotThrow(() => checkBeforeConnect(state({ port: '5432' }), expected))
  })
  it("refuses changed options on the Client or on its Connection, another negotiation, host or port", () => {
    const changed = { ...expected.ssl, rejectUnauthorized: false }
    for (const over of [{ ssl: changed }, { connectionSsl: changed }, { connectionNegotiation: 'postgres' }, { host: 'other.example.com' }, { port: 5433 }]) {
      assert.throws(() => checkBeforeConnect(state(over), expected), insecure, JSON.stringify(over))
    }
  })
})

describe('verifySession', () => {
  const socket = (authorized: boolean, alpnProtocol: string | false): TLSSocket => ({ authorized, alpnProtocol }) as unknown as TLSSocket
  it('passes a verified session; for direct TLS, only with ALPN "postgresql"', () => {
    assert.equal(verifySession(socket(true, false), 'postgres'), undefined)
    assert.equal(verifySession(socket(true, 'postgresql'), 'postgres'), undefined)
    assert.equal(verifySession(socket(true, 'postgresql'), 'direct'), undefined)
  })
  it('fails an unverified session, whatever its negotiation', () => {
    for (const negotiation of ['postgres', 'direct'] as const) {
      const e = verifySession(socket(false, 'postgresql'), negotiation)
      assert.ok(e instanceof AzurePgError)
      assert.equal(e.code, 'TLS_VERIFY_FAILED')
      assert.equal(e.reason, 'other')
      assert.match(e.hint, /NODE_TLS_REJECT_UNAUTHORIZED/)
    }
  })
  it('fails direct TLS without ALPN or with another protocol', () => {
    for (const alpn of [false, 'http/1.1'] as const) {
      const e = verifySession(socket(true, alpn), 'direct')
      assert.ok(e instanceof AzurePgError)
      assert.equal(e.code, 'CONNECTION_FAILED')
      assert.equal(e.reason, 'no-alpn')
      assert.match(e.hint, /sslnegotiation=postgres/)
    }
  })
})
