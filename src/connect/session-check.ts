// libpq's CONNECTION_CHECK_TARGET, as a pure decision: whether a freshly opened session fits what
// target_session_attrs asks for, from what the server reported at login (PostgreSQL 14+ reports
// in_hot_standby and default_transaction_read_only as ParameterStatus) or, when that is not enough, from
// the answer to the one query libpq would send. Which facts fit which value is session-attrs.ts's; this
// decides when the facts are known and what to ask otherwise. The host loop (host-loop.ts) does the I/O.
import type { TargetSessionAttrs } from '../options.js'
import { matchesTargetSessionAttrs, type SessionFacts } from './session-attrs.js'

/** What one pass over the host list asks of a server: prefer-standby is `standby`, then `any` (libpq's two passes). */
export type SessionWant = Exclude<TargetSessionAttrs, 'prefer-standby'>

/** The server's own reports at login (ParameterStatus), when it sent them. */
export interface ReportedSession {
  readonly inHotStandby?: boolean
  readonly defaultReadOnly?: boolean
}

/** The verdict on a session: take it, move on to the next host (saying why), or ask the server first. */
export type SessionVerdict =
  | { readonly kind: 'accept' }
  | { readonly kind: 'reject'; readonly why: string }
  | { readonly kind: 'ask'; readonly sql: string; readonly judge: (value: string | null) => SessionVerdict }

/** The queries libpq sends, word for word (its messages name them). */
export const READ_ONLY_QUERY = 'SHOW transaction_read_only'
export const RECOVERY_QUERY = 'SELECT pg_catalog.pg_is_in_recovery()'

const ACCEPT: SessionVerdict = { kind: 'accept' }

/** A ParameterStatus value as libpq reads it (`on` / `off`); anything else counts as not reported. */
export function reportedFlag(value: string | undefined): boolean | undefined {
  return value === 'on' ? true : value === 'off' ? false : undefined
}

/** Why a server that is not what `want` asks for is left, in libpq's words. */
const WHY: Readonly<Record<Exclude<SessionWant, 'any'>, string>> = {
  'read-write': 'is read-only', 'read-only': 'is not read-only', primary: 'is in hot standby', standby: 'is not in hot standby',
}

/** The verdict once the facts are known; the truth table is session-attrs.ts's (libpq's meanings). */
function verdictFor(want: Exclude<SessionWant, 'any'>, facts: SessionFacts): SessionVerdict {
  return matchesTargetSessionAttrs(want, facts) ? ACCEPT : { kind: 'reject', why: WHY[want] }
}

/**
 * Whether a session of a server that reported `reported` fits `want`. `read-write`/`read-only` judge
 * `transaction_read_only` (read-only when the server is in hot standby or read-only by default);
 * `primary`/`standby` judge `pg_is_in_recovery()`. When the reports do not settle it, the verdict is to
 * ask, with the query libpq sends, and judge its one value.
 */
export function judgeSession(want: SessionWant, reported: ReportedSession): SessionVerdict {
  switch (want) {
    case 'any': return ACCEPT
    case 'read-write':
    case 'read-only': {
      // As libpq: both reports are needed to answer without a round trip; an `on` answer to the query means
      // one of them is on, and libpq takes both as on (either way the session is read-only).
      if (reported.inHotStandby === undefined || reported.defaultReadOnly === undefined) {
        return { kind: 'ask', sql: READ_ONLY_QUERY, judge: (v) => (v === null ? unanswered(READ_ONLY_QUERY) : verdictFor(want, { inHotStandby: v.startsWith('on'), defaultReadOnly: v.startsWith('on') })) }
      }
      return verdictFor(want, { inHotStandby: reported.inHotStandby, defaultReadOnly: reported.defaultReadOnly })
    }
    case 'primary':
    case 'standby': {
      // Only pg_is_in_recovery() counts here: default_transaction_read_only does not make a primary a standby.
      if (reported.inHotStandby === undefined) {
        return { kind: 'ask', sql: RECOVERY_QUERY, judge: (v) => (v === null ? unanswered(RECOVERY_QUERY) : verdictFor(want, { inHotStandby: v.startsWith('t'), defaultReadOnly: false })) }
      }
      return verdictFor(want, { inHotStandby: reported.inHotStandby, defaultReadOnly: false })
    }
  }
}

/** libpq moves on when its check query fails or answers no row. */
function unanswered(sql: string): SessionVerdict {
  return { kind: 'reject', why: `did not answer "${sql}"` }
}
