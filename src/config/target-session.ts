// target_session_attrs and load_balance_hosts, read against libpq 16's allow-lists. libpq compares both
// with strcmp: the values are case-sensitive and take no white space, and so they are here.
import { invalidConfig } from '../errors.js'
import type { LoadBalanceHosts, TargetSessionAttrs } from '../options.js'
import type { Setting } from './setting.js'

/** libpq 16's target_session_attrs values, in its documentation's order. */
export const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby']

/** libpq 16's load_balance_hosts values. */
export const LOAD_BALANCE_HOSTS: readonly LoadBalanceHosts[] = ['disable', 'random']

/** The libpq value a setting names, `fallback` when unset; `INVALID_CONFIG` naming the key (never the value) otherwise. */
function oneOf<T extends string>(s: Setting | undefined, key: string, allowed: readonly T[], fallback: T, hint: string): T {
  if (s === undefined) return fallback
  const v = allowed.find((t) => t === s.value)
  if (v === undefined) throw invalidConfig(`${key} (from ${s.origin}) is not one of libpq's values: ${allowed.map((a) => `"${a}"`).join(', ')}.`, hint)
  return v
}

/** The target_session_attrs a setting names; `any` when unset. Throws `INVALID_CONFIG` otherwise. */
export function readTargetSessionAttrs(s: Setting | undefined): TargetSessionAttrs {
  return oneOf(s, 'target_session_attrs', TARGET_SESSION_ATTRS, 'any',
    'Use target_session_attrs=read-write (or primary) to reach the writable server, standby or prefer-standby for a replica, in lower case.')
}

/** The load_balance_hosts a setting names; `disable` when unset. Throws `INVALID_CONFIG` otherwise. */
export function readLoadBalanceHosts(s: Setting | undefined): LoadBalanceHosts {
  return oneOf(s, 'load_balance_hosts', LOAD_BALANCE_HOSTS, 'disable',
    'Use load_balance_hosts=random to spread connections over the hosts, or disable (the default) to try them in order.')
}
