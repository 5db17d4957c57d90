// Per new connection: the pg configuration it is made with (the shared TLS context of its trust set,
// the negotiation and key-share order learned for its server) and the plan for adaptive connect.
import { DEFAULT_GROUPS } from './learned-facts.js'
import { chooseNegotiation, groupsFor, type AdaptivePlan } from './adaptive-connect.js'
import type { AzurePgClientConfig, Prepared } from './prepare.js'
import { secureContextFor } from './tls-context.js'

/** A connection's final configuration and adaptive plan. */
export interface ConnectionPlan {
  readonly config: AzurePgClientConfig
  readonly plan: AdaptivePlan
}

/** Plans one connection from a prepared configuration (or a pool's copy of it). Pure apart from the shared context cache. */
export function planConnection(prepared: Prepared, config: AzurePgClientConfig): ConnectionPlan {
  const { settings, facts } = prepared
  // The trust set is part of a server's identity: the same name and port under other roots is another server.
  const key = `${prepared.trustKey.slice(0, 16)}|${settings.host}/${settings.connectHost}:${settings.port}`
  const negotiation = chooseNegotiation(settings.tls.sslnegotiation, facts, key)
  const ssl = config.ssl
  const userGroups = ssl.ecdhCurve
  const learned = userGroups === undefined ? groupsFor(facts, key) : undefined
  const groups = userGroups ?? learned
  const secureContext = secureContextFor(prepared.trustKey, {
    ca: ssl.ca, minVersion: ssl.minVersion,
    ...(ssl.maxVersion !== undefined && { maxVersion: ssl.maxVersion }),
    ...(ssl.ciphers !== undefined && { ciphers: ssl.ciphers }),
    ...(groups !== undefined && { ecdhCurve: groups }),
  })
  return {
    // The password is read explicitly: a pool's copy of the configuration holds it non-enumerable, which a spread drops.
    config: {
      ...config, password: config.password, ssl: { ...ssl, ...(learned !== undefined && { ecdhCurve: learned }), secureContext }, sslnegotiation: negotiation,
    } as AzurePgClientConfig,
    plan: {
      negotiation,
      fallback: settings.tls.sslnegotiation === 'auto',
      key,
      facts,
      firstGroup: (groups ?? DEFAULT_GROUPS[0] ?? 'X25519').split(':')[0] ?? 'X25519',
      learnGroup: userGroups === undefined,
    },
  }
}
