// Connect, read who and how the session is (pg_stat_ssl), close: what the integration tests ask of a
// client that should have connected over TLS.
import type pg from 'pg'

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
