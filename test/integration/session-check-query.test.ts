// The host loop's other way to judge a session: a server that does not report in_hot_standby and
// default_transaction_read_only at login (PostgreSQL before 14; every PostgreSQL the lab runs reports them,
// so scripted stand-ins play the old servers here) is asked with the query libpq sends, before the session is
// taken or left; the application's own queries wait behind the check, and the server left gets Terminate.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAzurePgClient, type AzurePgPoolOptions } from '../../src/index.js'
import type { TargetSessionAttrs } from '../../src/options.js'
import { LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { issueServerCertificate } from '../../lab/pki.js'
import { authRequest, backendMessage, errorResponse, forgedResult, readyForQuery, startScriptedServer, type ScriptedServer } from '../../lab/scripted-pg-server.js'
import { connectError } from '../support/assert-error.js'
import { READ_ONLY_QUERY, RECOVERY_QUERY } from '../support/session.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(10_000)
const OLD_PRIMARY = 'oldprimary.postgres.database.azure.com'
const OLD_STANDBY = 'oldstandby.postgres.database.azure.com'

let lab: Lab
const servers: Record<'primary' | 'standby' | 'mute', ScriptedServer | undefined> = { primary: undefined, standby: undefined, mute: undefined }

/** A server of the old kind: logs anyone in, reports nothing, answers the two check queries for its role, and 'app' to anything else. */
function oldServer(standby: boolean | undefined) {
  return (message: { type: string; body: Buffer } | 'startup', tls: import('node:tls').TLSSocket): void => {
    if (message === 'startup') {
      tls.write(Buffer.concat([authRequest(0), readyForQuery()]))
      return
    }
    if (message.type !== 'Q') return
    const sql = message.body.subarray(0, message.body.length - 1).toString('utf8')
    if (standby === undefined && (sql === READ_ONLY_QUERY || sql === RECOVERY_QUERY)) {
      // A server whose check query fails: libpq moves on.
      tls.write(Buffer.concat([errorResponse('ERROR', '42883', 'function does not exist'), backendMessage('Z', Buffer.from('I'))]))
    } else if (sql === READ_ONLY_QUERY) tls.write(forgedResult('transaction_read_only', standby === true ? 'on' : 'off'))
    else if (sql === RECOVERY_QUERY) tls.write(forgedResult('pg_is_in_recovery', standby === true ? 't' : 'f'))
    else tls.write(forgedResult('answer', `app from ${standby === true ? 'standby' : 'primary'}`))
  }
}

before(async () => {
  lab = await startLab([])
  const cert = (name: string) => issueServerCertificate(lab.issuer, { dnsNames: [name] })
  servers.primary = await startScriptedServer(await cert(OLD_PRIMARY), oldServer(false))
  servers.standby = await startScriptedServer(await cert(OLD_STANDBY), oldServer(true))
  servers.mute = await startScriptedServer(await cert(OLD_STANDBY), oldServer(undefined))
})
after(async () => {
  await Promise.all(Object.values(servers).map((s) => s?.close()))
  await lab?.stop()
})

function options(order: ReadonlyArray<'primary' | 'standby' | 'mute'>, attrs: TargetSessionAttrs): AzurePgPoolOptions {
  const s = (m: 'primary' | 'standby' | 'mute'): ScriptedServer => servers[m] as ScriptedServer
  return {
    host: order.map((m) => (m === 'primary' ? OLD_PRIMARY : OLD_STANDBY)), hostaddr: order.map(() => '127.0.0.1'), port: order.map((m) => s(m).port),
    database: 'postgres', user: LOGINS.flexible.user, password: 'unused', sslrootcert: lab.rootPath, env: {}, connectionTimeoutMillis: 5000,
    learn: 'off', sslnegotiation: 'postgres', target_session_attrs: attrs,
  }
}

/** The simple queries a server received, in order (Terminate as 'X'). */
const queriesOf = (s: ScriptedServer, connection: number): string[] =>
  (s.received[connection] ?? []).slice(1).map((m) => (m[0] === 0x51 ? m.subarray(5, m.length - 1).toString('utf8') : String.fromCharCode(m[0] ?? 0)))

describe('a server that does not report its role is asked, as libpq asks', () => {
  const cases: Array<[ReadonlyArray<'primary' | 'standby'>, TargetSessionAttrs, 'primary' | 'standby', string]> = [
    [['standby', 'primary'], 'read-write', 'primary', READ_ONLY_QUERY],
    [['primary', 'standby'], 'read-only', 'standby', READ_ONLY_QUERY],
    [['standby', 'primary'], 'primary', 'primary', RECOVERY_QUERY],
    [['primary', 'standby'], 'standby', 'standby', RECOVERY_QUERY],
  ]
  for (const [order, attrs, expected, sql] of cases) {
    it(`${order.join(', ')} with ${attrs}: asks "${sql}", leaves the ${order[0]} with Terminate, settles on the ${expected}; a query queued before connect() runs after the check`, async () => {
      const [first, second] = order as ['primary' | 'standby', 'primary' | 'standby']
      const before = { [first]: servers[first]?.received.length ?? 0, [second]: servers[second]?.received.length ?? 0 }
      const client = await createAzurePgClient(options(order, attrs))
      const connecting = client.connect()
      const queued = client.query<{ answer: string }>('SELECT 42')
      await within(connecting, 'connect')
      assert.equal((await within(queued, 'the queued query')).rows[0]?.answer, `app from ${expected}`)
      await client.end()
      assert.deepEqual(queriesOf(servers[first] as ScriptedServer, before[first] ?? 0), [sql, 'X'])
      assert.deepEqual(queriesOf(servers[second] as ScriptedServer, before[second] ?? 0), [sql, 'SELECT 42', 'X'])
    })
  }

  it('a server whose check query fails is left for the next (libpq moves on)', async () => {
    const client = await createAzurePgClient(options(['mute', 'primary'], 'primary'))
    await within(client.connect(), 'connect')
    assert.equal((await within(client.query<{ answer: string }>('SELECT 1'), 'query')).rows[0]?.answer, 'app from primary')
    await client.end()
  })

  it('only servers whose check fails or does not fit: one error naming each', async () => {
    const err = await connectError(options(['mute', 'standby'], 'read-write'), within)
    assert.match(err.message, new RegExp(`did not answer "${READ_ONLY_QUERY}"; .* is read-only\\.$`))
  })
})
