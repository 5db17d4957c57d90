// What the doctor says about a login: the method the server asked for, whether the SCRAM login was bound
// to the TLS session, and what to set so that no server can downgrade it (require_auth, channel_binding).
// Pure: from the settings and what the auth guard saw.
import { mechanismsInWords, SCRAM_PLUS } from '../config/auth-policy.js'
import type { Settings } from '../config/resolve.js'
import type { AuthObservation } from '../connect/auth-guard.js'

/** The doctor's account of one login. */
export interface AuthVerdict {
  /** `warn`: the login worked the weak way (MD5, a cleartext password without Entra, no authentication at all). */
  readonly status: 'pass' | 'warn'
  readonly details: readonly string[]
  readonly reason?: string
  readonly fix?: string
}

const STRONGEST = 'require_auth=scram-sha-256 and channel_binding=require'

/** How to make the server ask for SCRAM, on Azure and elsewhere. */
const SCRAM_FIX = 'Store the role\'s password as SCRAM: set password_encryption to scram-sha-256 (Azure: az postgres flexible-server parameter set --resource-group <group> --server-name <server> --name password_encryption --value scram-sha-256), reset the password, and make pg_hba.conf ask for scram-sha-256; then set ' + STRONGEST + '.'

/** The policy in effect, in one line. */
export function policyLine(settings: Settings): string {
  const { auth } = settings
  return `authentication: channel_binding ${auth.channelBinding}, require_auth ${auth.requireAuth?.canonical ?? 'not set (any method)'}`
}

/** What the server asked for and what was used, for a login that got as far as the server's request. */
export function askedLine(seen: AuthObservation): string | undefined {
  switch (seen.asked) {
    case undefined: return undefined
    case 'none': return 'the server asked for no authentication (trust)'
    case 'password': return 'the server asked for a cleartext password (sent inside verified TLS)'
    case 'md5': return 'the server asked for an MD5-hashed password'
    case 'scram-sha-256': {
      const bound = seen.channelBound ? `channel binding used (${SCRAM_PLUS})`
        : seen.mechanisms.includes(SCRAM_PLUS) ? 'channel binding not used (channel_binding=disable)'
          : 'channel binding not available: the server does not offer SCRAM-SHA-256-PLUS (PgBouncer, such as Azure\'s on port 6432, cannot bind)'
      return `the server asked for SCRAM-SHA-256 (offered: ${mechanismsInWords(seen.mechanisms)}); ${bound}`
    }
  }
}

/** The doctor's account of a successful login. */
export function authVerdict(settings: Settings, seen: AuthObservation | undefined): AuthVerdict {
  if (seen === undefined) return { status: 'pass', details: [] }
  const asked = askedLine(seen)
  const details = asked === undefined ? [] : [asked]
  const entra = settings.entra !== undefined
  const strongest = settings.auth.channelBinding === 'require' && settings.auth.requireAuth?.canonical === 'scram-sha-256'
  if (seen.asked === 'scram-sha-256') {
    if (seen.mechanisms.includes(SCRAM_PLUS) && !strongest) details.push(`suggest: ${STRONGEST}: this server supports both, and with them no server (or interceptor holding a trusted certificate) can ask this client for its password another way or relay an unbound login`)
    return { status: 'pass', details }
  }
  if (seen.asked === 'password' && entra) {
    details.push('Entra ID: the token is sent as a cleartext password inside verified TLS (Azure\'s design); require_auth=password pins the login to it, and channel binding cannot apply')
    return { status: 'pass', details }
  }
  if (seen.asked === 'none') {
    return { status: 'warn', details, reason: 'the server let this client in without asking for a password or token: anyone reaching it as this user is let in too', fix: `Make pg_hba.conf ask for scram-sha-256 (an Azure server always asks); then set ${STRONGEST}.` }
  }
  const what = seen.asked === 'md5' ? 'an MD5-hashed password (deprecated since PostgreSQL 18; the MD5 hash the server stores is as good as the password)' : 'the password in cleartext: a server, or an interceptor holding a trusted certificate, that asks this way learns it'
  return { status: 'warn', details, reason: `the server asked for ${what}`, fix: SCRAM_FIX }
}
