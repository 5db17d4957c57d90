// Per new connection: the pg configuration it is made with (the shared TLS context of its trust set,
// the negotiation and key-share order learned for its server) and the plan for adaptive connect.
import { isIP } from 'node:net'
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls'
import type { HostTarget } from '../config/resolve.js'
import type { ConnectContext } from '../explain.js'
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
  const key = serverKey(prepared, settings.host, settings.connectHost, settings.port)
  const negotiation = chooseNegotiation(settings.tls.sslnegotiation, facts, key)
  // Built from the private copy, never from the object just checked (it could answer twice).
  const ssl = prepared.ssl as unknown as AzurePgClientConfig['ssl']
  const tls = tlsFor(prepared, key)
  const connectionSsl = Object.freeze({ ...tls.ssl, servername: ssl.servername, checkServerIdentity: ssl.checkServerIdentity ?? NODE_IDENTITY_CHECK })
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
      firstGroup: tls.firstGroup,
      learnGroup: tls.learnGroup,
    },
  }
}

/** The trust set is part of a server's identity: the same name and port under other roots is another server. */
function serverKey(prepared: Prepared, host: string, connectHost: string, port: number): string {
  return `${prepared.trustKey.slice(0, 16)}|${host}/${connectHost}:${port}`
}

/** The TLS options of one connection to the server `key` names, without its name (servername, identity check). */
interface TlsFor {
  readonly ssl: Readonly<Record<string, unknown>>
  readonly firstGroup: string
  readonly learnGroup: boolean
}

function tlsFor(prepared: Prepared, key: string): TlsFor {
  const ssl = prepared.ssl as unknown as AzurePgClientConfig['ssl']
  const userGroups = ssl.ecdhCurve
  const learned = userGroups === undefined ? groupsFor(prepared.facts, key) : undefined
  const groups = userGroups ?? learned
  const secureContext = secureContextFor(prepared.trustKey, {
    ca: ssl.ca, minVersion: ssl.minVersion,
    ...(ssl.maxVersion !== undefined && { maxVersion: ssl.maxVersion }),
    ...(ssl.ciphers !== undefined && { ciphers: ssl.ciphers }),
    ...(groups !== undefined && { ecdhCurve: groups }),
  })
  // Every TLS option Node could otherwise find on a polluted Object.prototype is an own property here
  // (a resumed `session` skips the identity check, a `pskCallback` the certificate).
  return {
    ssl: {
      ...ssl,
      ca: Array.isArray(ssl.ca) ? Object.freeze([...ssl.ca]) : ssl.ca,
      ...(learned !== undefined && { ecdhCurve: learned }),
      secureContext,
      session: undefined,
      pskCallback: undefined,
      enableTrace: false,
    },
    firstGroup: (groups ?? FIRST_GROUP).split(':')[0] ?? FIRST_GROUP,
    learnGroup: userGroups === undefined,
  }
}

/** One server of a host list as one attempt of the host loop goes to it (host-loop.ts). */
export interface HostPlan {
  readonly target: HostTarget
  /** Its index in the host list. */
  readonly index: number
  /** The user name sent to it (Azure naming for this server applied). */
  readonly user: string
  /** What its failures are explained with. */
  readonly context: ConnectContext
  readonly key: string
  readonly negotiation: 'postgres' | 'direct'
  readonly fallback: boolean
  /** Its TLS options, frozen: SNI and the identity check name this server, never another of the list. */
  readonly ssl: Readonly<ConnectionOptions>
  readonly firstGroup: string
  readonly learnGroup: boolean
}

/**
 * Plans an attempt at the server `index` of the host list, from what is known of it now (its learned
 * negotiation and key-share group, keyed by its own name, address and port).
 */
export function planHost(prepared: Prepared, index: number): HostPlan {
  const target = prepared.hosts[index]
  if (target === undefined) throw new RangeError(`no server ${index} in the host list`)
  const key = serverKey(prepared, target.target.host, target.target.connectHost, target.target.port)
  const tls = tlsFor(prepared, key)
  const name = target.target.host
  const ssl = Object.freeze({
    ...tls.ssl,
    // SNI only for a name (RFC 6066), and the certificate checked against this server's own name, IP literals included.
    servername: isIP(name) === 0 ? name : undefined,
    checkServerIdentity: sdkIdentityCheck((_hostname: string, cert: PeerCertificate) => checkServerIdentity(name, cert)),
  }) as Readonly<ConnectionOptions>
  return {
    target: target.target, index, user: target.user, context: target.context, key,
    negotiation: chooseNegotiation(prepared.settings.tls.sslnegotiation, prepared.facts, key),
    fallback: prepared.settings.tls.sslnegotiation === 'auto',
    ssl, firstGroup: tls.firstGroup, learnGroup: tls.learnGroup,
  }
}
