// Per new connection: the pg configuration it is made with (the shared TLS context of its trust set,
// the negotiation and key-share order learned for its server) and the plan for adaptive connect.
import { checkServerIdentity } from 'node:tls'
import { chooseNegotiation, FIRST_GROUP, groupsFor, type AdaptivePlan } from './adaptive-connect.js'
import type { AzurePgClientConfig, Prepared } from './prepare.js'
import { secureContextFor } from './tls-context.js'
import { assertSameSsl, sdkIdentityCheck } from './tls-guard.js'

/** Node's own host-name check, set explicitly so that no inherited one can take its place. */
const NODE_IDENTITY_CHECK = sdkIdentityCheck(checkServerIdentity)

/** A connection's final configuration and adaptive plan. */
export interface ConnectionPlan {
  readonly config: AzurePgClientConfig
  readonly plan: AdaptivePlan
}

/** Plans one connection from a prepared configuration (or a pool's copy of it). Pure apart from the shared context cache. */
export function planConnection(prepared: Prepared, config: AzurePgClientConfig): ConnectionPlan {
  const { settings, facts } = prepared
  // A pool hands each new client its own copy of the configuration, whose ssl object anyone holding the
  // pool can change: it must still be exactly what was resolved.
  assertSameSsl(config.ssl, prepared.ssl)
  // The trust set is part of a server's identity: the same name and port under other roots is another server.
  const key = `${prepared.trustKey.slice(0, 16)}|${settings.host}/${settings.connectHost}:${settings.port}`
  const negotiation = chooseNegotiation(settings.tls.sslnegotiation, facts, key)
  // Built from the private copy, never from the object just checked (it could answer twice).
  const ssl = prepared.ssl as unknown as AzurePgClientConfig['ssl']
  const userGroups = ssl.ecdhCurve
  const learned = userGroups === undefined ? groupsFor(facts, key) : undefined
  const groups = userGroups ?? learned
  const secureContext = secureContextFor(prepared.trustKey, {
    ca: ssl.ca, minVersion: ssl.minVersion,
    ...(ssl.maxVersion !== undefined && { maxVersion: ssl.maxVersion }),
    ...(ssl.ciphers !== undefined && { ciphers: ssl.ciphers }),
    ...(groups !== undefined && { ecdhCurve: groups }),
  })
  // Every TLS option Node could otherwise find on a polluted Object.prototype is an own property here
  // (a resumed `session` skips the identity check, a `pskCallback` the certificate), and the object is frozen.
  const connectionSsl = Object.freeze({
    ...ssl,
    ca: Array.isArray(ssl.ca) ? Object.freeze([...ssl.ca]) : ssl.ca,
    ...(learned !== undefined && { ecdhCurve: learned }),
    secureContext,
    servername: ssl.servername,
    checkServerIdentity: ssl.checkServerIdentity ?? NODE_IDENTITY_CHECK,
    session: undefined,
    pskCallback: undefined,
    enableTrace: false,
  })
  return {
    // The password is read explicitly: a pool's copy of the configuration holds it non-enumerable, which a spread drops.
    config: { ...config, password: config.password, ssl: connectionSsl, sslnegotiation: negotiation } as AzurePgClientConfig,
    plan: {
      negotiation,
      fallback: settings.tls.sslnegotiation === 'auto',
      key,
      host: String(config.host),
      address: settings.connectHost,
      facts,
      firstGroup: (groups ?? FIRST_GROUP).split(':')[0] ?? FIRST_GROUP,
      learnGroup: userGroups === undefined,
    },
  }
}
