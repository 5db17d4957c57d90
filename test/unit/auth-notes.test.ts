// What the doctor says about a login (src/doctor/auth-notes.ts), pure: from settings and what the guard saw.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveSettings } from '../../src/config/resolve.js'
import type { AuthObservation } from '../../src/connect/auth-guard.js'
import { authVerdict, policyLine } from '../../src/doctor/auth-notes.js'

const HOST = 'mydemoserver.postgres.database.azure.com'
const seen = (over: Partial<AuthObservation>): AuthObservation => ({ asked: undefined, mechanisms: [], mechanism: undefined, completed: true, channelBound: false, refused: undefined, ...over })

describe('authVerdict', () => {
  it('Entra ID asked for a cleartext password: passes, and says what to allow', () => {
    const v = authVerdict(resolveSettings({ host: HOST, entra: true }, {}), seen({ asked: 'password' }))
    assert.deepEqual([v.status, v.details], ['pass', [
      'the server asked for a cleartext password (sent inside verified TLS)',
      'Entra ID: the token is sent as a cleartext password inside verified TLS (Azure\'s design); require_auth=password pins the login to it, and channel binding cannot apply',
    ]])
  })

  it('the same request without Entra is a warning with the SCRAM fix', () => {
    const v = authVerdict(resolveSettings({ host: HOST, user: 'u' }, {}), seen({ asked: 'password' }))
    assert.equal(v.status, 'warn')
    assert.match(v.fix ?? '', /password_encryption --value scram-sha-256/)
  })

  it('SCRAM without -PLUS (PgBouncer): passes, says binding is not available, suggests nothing', () => {
    const v = authVerdict(resolveSettings({ host: HOST, user: 'u' }, {}), seen({ asked: 'scram-sha-256', mechanisms: ['SCRAM-SHA-256'], mechanism: 'SCRAM-SHA-256' }))
    assert.deepEqual([v.status, v.details.length], ['pass', 1])
    assert.match(v.details[0] ?? '', /channel binding not available/)
  })

  it('policyLine states both settings', () => {
    assert.equal(policyLine(resolveSettings({ host: HOST, user: 'u', require_auth: '!md5', channel_binding: 'disable' }, {})), 'authentication: channel_binding disable, require_auth !md5')
  })
})
