// Connect, read who and how the session is (pg_stat_ssl), close: what the integration tests ask of a
// client that should have connected over TLS. And the queries libpq asks a server's role with.
import type pg from 'pg'

/**
 * The queries libpq sends to learn a server's role for target_session_attrs (fe-connect.c), written out here
 * rather than taken from the code under test.
 */
export const READ_ONLY_QUERY = 'SHOW transaction_read_only'
export const RECOVERY_QUERY = 'SELECT pg_catalog.pg_is_in_recovery()'

export interface SessionFacts {
  readonly current_user: string
  readonly ssl: boolean
  readonly version: string
  readonly cipher: string
}

/** Connects `client`, reads its session's user and TLS facts (pg_stat_ssl), and closes it. */
export async function sessionFacts(client: pg.Client): Promise<SessionFacts> {
  await client.connect()
  try {
    const r = await client.query('SELECT current_user, s.ssl, s.version, s.cipher FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')
    return r.rows[0]
  } finally {
    await client.end()
  }
}
