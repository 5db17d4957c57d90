// The order one connect tries the servers of a host list in, as libpq does: as given, or shuffled per
// connection (load_balance_hosts=random); with prefer-standby, a first pass that takes only a standby and
// a second pass, over the same order, that takes any server.
import { randomInt } from 'node:crypto'
import type { LoadBalanceHosts, TargetSessionAttrs } from '../options.js'
import type { SessionWant } from './session-check.js'

/** One attempt of a connect: which server (an index into the host list) and what it must be. */
export interface HostAttempt {
  readonly index: number
  readonly want: SessionWant
}

/** A random integer in [0, max): crypto's by default, so the shuffle cannot be predicted from outside. */
export type PickIndex = (max: number) => number

/**
 * The attempts of one connect over `count` servers. `random` shuffles the order (Fisher–Yates, with
 * `pick`, crypto randomness by default) once per connect; prefer-standby goes over that order twice.
 */
export function hostAttempts(count: number, attrs: TargetSessionAttrs, balance: LoadBalanceHosts, pick: PickIndex = randomInt): HostAttempt[] {
  const order = Array.from({ length: count }, (_, i) => i)
  if (balance === 'random') {
    for (let i = order.length - 1; i > 0; i--) {
      const j = pick(i + 1)
      const t = order[i] as number
      order[i] = order[j] as number
      order[j] = t
    }
  }
  if (attrs === 'prefer-standby') {
    return [...order.map((index) => ({ index, want: 'standby' as const })), ...order.map((index) => ({ index, want: 'any' as const }))]
  }
  return order.map((index) => ({ index, want: attrs }))
}

/** Whether a configuration needs the host loop: several servers, or a session to check. */
export function needsHostLoop(hostCount: number, attrs: TargetSessionAttrs): boolean {
  return hostCount > 1 || attrs !== 'any'
}

/**
 * How long a pool's checkout may wait when each connect may try every server, each for the whole connect
 * limit: the limit times the attempts of one connect (0 stays 0, no limit).
 */
export function checkoutLimitMs(limitMs: number, hostCount: number, attrs: TargetSessionAttrs): number {
  if (!needsHostLoop(hostCount, attrs)) return limitMs
  return limitMs * hostCount * (attrs === 'prefer-standby' ? 2 : 1)
}
