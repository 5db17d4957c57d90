// libpq's target_session_attrs, as a pure decision over what a session says about its server, and the
// two ways to learn that: PostgreSQL 14+ reports `in_hot_standby` and `default_transaction_read_only`
// in ParameterStatus messages (at login, and again whenever they change: a promotion, a reload), so
// nothing needs to be asked; an older server is asked, as libpq asks it (`SHOW transaction_read_only`,
// `SELECT pg_is_in_recovery()`). Used by the failover-aware pool (a reconnect that lands on a read-only
// server is not handed out for writes) and by multi-host connects (which host to settle on).
import { AzurePgError } from '../errors.js'
import type { TargetSessionAttrs } from '../options.js'

/** What decides target_session_attrs: whether the server is a hot standby, and whether sessions are read-only by default. */
export interface SessionFacts {
  /** The server is in recovery (a hot standby or read replica): `in_hot_standby`, or `pg_is_in_recovery()`. */
  readonly inHotStandby: boolean
  /**
   * Sessions are read-only by default (`default_transaction_read_only`, or `transaction_read_only` as
   * libpq reads it): Azure sets it when a server's storage is full.
   */
  readonly defaultReadOnly: boolean
}

/**
 * Whether a server with `facts` is acceptable for `attrs`, with libpq's meanings: `read-write` wants
 * neither a standby nor read-only sessions, `read-only` either of them, `primary` no standby, `standby` a
 * standby, `any` everything. `prefer-standby` matches standbys only: it is libpq's first pass, and a
 * caller that found no standby among its hosts tries again with `any` ({@link fallbackAttrs}).
 */
export function matchesTargetSessionAttrs(attrs: TargetSessionAttrs, facts: SessionFacts): boolean {
  const readOnly = facts.inHotStandby || facts.defaultReadOnly
  switch (attrs) {
    case 'any': return true
    case 'read-write': return !readOnly
    case 'read-only': return readOnly
    case 'primary': return !facts.inHotStandby
    case 'standby': case 'prefer-standby': return facts.inHotStandby
  }
}

/** A server's kind in words, for messages. */
function kindOf(facts: SessionFacts): string {
  if (facts.inHotStandby) return 'a hot standby (read-only)'
  return facts.defaultReadOnly ? 'a primary in read-only mode (default_transaction_read_only is on)' : 'a writable primary'
}

/**
 * The refusal of a session whose server is not what `attrs` asks for (a `CONNECTION_FAILED` of reason
 * `session-attrs`), as libpq refuses it ("session is read-only", "server is in hot standby mode").
 * `where` names the server (`host:port`); nothing user-typed beyond the validated `attrs` goes in.
 */
export function sessionAttrsError(attrs: TargetSessionAttrs, facts: SessionFacts, where: string): AzurePgError {
  return new AzurePgError('CONNECTION_FAILED', `The server at ${where} is ${kindOf(facts)}, and target_session_attrs=${attrs} does not accept it; the connection was closed.`, {
    hint: 'During a failover this passes once the promoted server answers (the pool keeps trying within the connect time limit); otherwise point host at the server you want (Azure: the writer endpoint or the server\'s own name for writes).',
    reason: 'session-attrs', phase: 'query',
  })
}

/** What to ask for when no server matched `attrs` on the first pass: `any` for `prefer-standby` (as libpq), else nothing more. */
export function fallbackAttrs(attrs: TargetSessionAttrs): TargetSessionAttrs | undefined {
  return attrs === 'prefer-standby' ? 'any' : undefined
}

/** Whether `attrs` needs to know anything about the server at all (`any` does not: no check, no round trip). */
export function needsSessionFacts(attrs: TargetSessionAttrs): boolean {
  return attrs !== 'any'
}

/**
 * The facts from the parameters a server reported (name → value, from ParameterStatus), or undefined when
 * it reported neither (a server before PostgreSQL 14, or a pooler that drops them): then ask
 * ({@link querySessionFacts}). Only `on` counts as on; an unknown value is taken as off, as libpq does.
 */
export function sessionFactsFromParameters(parameters: ReadonlyMap<string, string>): SessionFacts | undefined {
  const standby = parameters.get('in_hot_standby')
  const readOnly = parameters.get('default_transaction_read_only')
  if (standby === undefined || readOnly === undefined) return undefined
  return { inHotStandby: standby === 'on', defaultReadOnly: readOnly === 'on' }
}

/** A client that can run one query (a pg.Client, or anything with its `query`). */
export interface Queryable {
  query(text: string): Promise<{ rows: unknown[] }>
}

/**
 * The SQL that learns the facts from a server that does not report them: both in one statement (one
 * round trip), names schema-qualified so that nothing on the search_path can stand in for them.
 */
export const SESSION_FACTS_SQL = "SELECT pg_catalog.pg_is_in_recovery() AS standby, pg_catalog.current_setting('transaction_read_only') AS read_only"

/** Asks the server for its facts (see {@link SESSION_FACTS_SQL}); rejects as the query does. */
export async function querySessionFacts(client: Queryable): Promise<SessionFacts> {
  const row = (await client.query(SESSION_FACTS_SQL)).rows[0] as { standby?: unknown; read_only?: unknown } | undefined
  return { inHotStandby: row?.standby === true, defaultReadOnly: row?.read_only === 'on' }
}

/**
 * Records the parameters a pg connection reports (its `parameterStatus` events), so that the facts can be
 * read at any time without a query: returns the live map. Only the two that matter are kept.
 */
export function watchSessionParameters(connection: { on(event: 'parameterStatus', f: (msg: { parameterName?: unknown; parameterValue?: unknown }) => void): unknown }): ReadonlyMap<string, string> {
  const parameters = new Map<string, string>()
  connection.on('parameterStatus', (msg) => {
    const { parameterName: name, parameterValue: value } = msg
    if ((name === 'in_hot_standby' || name === 'default_transaction_read_only') && typeof value === 'string') parameters.set(name, value)
  })
  return parameters
}
