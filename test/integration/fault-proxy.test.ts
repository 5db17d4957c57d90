// The lab's fault proxy, tested on its own: plain pg (the proxy is lab code, not the SDK) and raw sockets
// through it to a real PostgreSQL 18 server. Each phase must break the conversation exactly where it
// says, and each fault must do what it says.
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startFaultProxy, type FaultKind, type FaultPhase, type FaultProxy } from '../../lab/fault-proxy.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { activeCounts, settledReading, waitUntil } from '../support/handles.js'
import { timeLimit } from '../support/within.js'

/** Milestones of a pg connection, as the client saw them. */
type Milestone = 'tls-started' | 'tls-established' | 'auth-request' | 'auth-continue' | 'ready' | 'row-description' | 'data-row' | 'command-complete'

/** The milestones of a healthy connect-and-query, in order. */
const MILESTONES: readonly Milestone[] = ['tls-started', 'tls-established', 'auth-request', 'auth-continue', 'ready', 'row-description', 'data-row', 'command-complete']

/** Every wait in this file has this limit. */
const LIMIT_MS = 10_000

const within = timeLimit(LIMIT_MS)

const tcpHandles = (): number => {
  const c = activeCounts(['TCPSocketWrap', 'TCPServerWrap'])
  return c.TCPSocketWrap + c.TCPServerWrap
}

/** Waits (with a limit) until the count of TCP handles is back to `expected`. */
async function handlesBackTo(expected: number): Promise<void> {
  await waitUntil(() => tcpHandles() === expected, LIMIT_MS)
  assert.equal(tcpHandles(), expected, `TCP handles left: ${process.getActiveResourcesInfo().join(', ')}`)
}

/** The TCP handle count once sockets closed by earlier tests have finished closing. */
const settledHandles = (): Promise<number> => settledReading(tcpHandles, LIMIT_MS)

describe('fault proxy', () => {
  let lab: Lab
  let proxy: FaultProxy

  before(async () => {
    lab = await startLab(['good'])
    proxy = await startFaultProxy({ upstreamPort: lab.server('good').port })
  })
  after(async () => {
    await proxy?.close()
    await lab?.stop()
  })

  function pgClient(port = proxy.port, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): { client: pg.Client; seen: Milestone[] } {
    const client = new pg.Client({
      host: '127.0.0.1', port, user: LOGINS.flexible.user, password: LOGINS.flexible.password, database: 'postgres',
      ssl: { ca: lab.root.pem, servername: AZURE_HOST, maxVersion },
    })
    const seen: Milestone[] = []
    const mark = (m: Milestone): void => { if (!seen.includes(m)) seen.push(m) }
    // pg's Connection emits one event per protocol message, and 'sslconnect' when it starts TLS.
    const con = (client as unknown as { connection: NodeJS.EventEmitter & { stream: Socket } }).connection
    con.on('sslconnect', () => {
      mark('tls-started')
      con.stream.once('secureConnect', () => mark('tls-established'))
    })
    const messages: Array<[string, Milestone]> = [
      ['authenticationSASL', 'auth-request'], ['authenticationSASLContinue', 'auth-continue'], ['readyForQuery', 'ready'],
      ['rowDescription', 'row-description'], ['dataRow', 'data-row'], ['commandComplete', 'command-complete'],
    ]
    for (const [event, m] of messages) con.on(event, () => mark(m))
    client.on('error', () => undefined)
    return { client, seen }
  }

  const BIG_QUERY = "SELECT repeat('x', 1000) FROM generate_series(1, 300)"

  it('relays a healthy conversation untouched, and records its shape', async () => {
    const { client, seen } = pgClient()
    await client.connect()
    const r = await client.query(BIG_QUERY)
    await client.end()
    assert.equal(r.rowCount, 300)
    assert.deepEqual(seen, MILESTONES)
    const rec = proxy.connections().at(-1)!
    assert.equal(rec.fired, undefined)
    assert.deepEqual(rec.events.slice(0, 5), ['accept', 'ssl-request', 'answer S', 'client-record 22', 'server-record 22'])
    assert.ok(rec.bytesDown > 300_000, `the result went through (${rec.bytesDown} bytes)`)
  })

  /** How far the client must have come, and no further, when the fault hits at each phase. */
  const reached: Record<FaultPhase, { last: Milestone | undefined; proxySawLast: string }> = {
    accept: { last: undefined, proxySawLast: 'accept' },
    'ssl-request': { last: undefined, proxySawLast: 'ssl-request' },
    'tls-handshake': { last: 'tls-started', proxySawLast: 'server-record 22' },
    startup: { last: 'tls-established', proxySawLast: 'client-record 23' },
    auth: { last: 'auth-request', proxySawLast: 'client-record 23' },
    result: { last: 'data-row', proxySawLast: 'server-record 23' },
  }

  for (const phase of Object.keys(reached) as FaultPhase[]) {
    for (const fault of ['rst', 'close', 'stall'] as FaultKind[]) {
      it(`${fault} at ${phase}: fires there, and the client got exactly that far`, async () => {
        proxy.inject({ phase, fault })
        try {
          const { client, seen } = pgClient()
          const fired = proxy.nextFault(LIMIT_MS)
          let settled: 'pending' | 'resolved' | 'rejected' = 'pending'
          const attempt = (async () => {
            await client.connect()
            await client.query(BIG_QUERY)
          })().then(() => { settled = 'resolved' }, (err: unknown) => { settled = 'rejected'; return err })
          const rec = await fired
          assert.deepEqual(rec.fired, { phase, fault })
          assert.equal(rec.events.at(-2), reached[phase].proxySawLast, rec.events.join(', '))
          if (phase === 'accept' || phase === 'ssl-request') assert.equal(rec.bytesUp, 0, 'nothing reached the server')

          if (fault === 'stall') {
            // A black hole: nothing comes back, so the client waits until it gives up (here: we end it).
            await new Promise((r) => setTimeout(r, 100))
            assert.equal(settled, 'pending')
            ;(client as unknown as { connection: { stream: Socket } }).connection.stream.destroy()
          }
          const err = await within(attempt, 'the client noticing the fault')
          assert.equal(settled, 'rejected', 'the client failed')
          assert.ok(err instanceof Error)
          const last = reached[phase].last
          assert.deepEqual(seen, MILESTONES.slice(0, last === undefined ? 0 : MILESTONES.indexOf(last) + 1))
        } finally {
          proxy.heal()
        }
      })
    }
  }

  // TLS 1.2 encrypts nothing of the handshake as application data, so the records are counted differently.
  for (const phase of ['startup', 'auth', 'result'] as const) {
    it(`TLS 1.2: close at ${phase} fires there too`, async () => {
      proxy.inject({ phase, fault: 'close' })
      try {
        const { client, seen } = pgClient(proxy.port, 'TLSv1.2')
        const fired = proxy.nextFault(LIMIT_MS)
        const attempt = (async () => {
          await client.connect()
          await client.query(BIG_QUERY)
        })().then(() => 'resolved', () => 'rejected')
        assert.deepEqual((await fired).fired, { phase, fault: 'close' })
        assert.equal(await within(attempt, 'the client noticing the close'), 'rejected')
        const last = reached[phase].last
        assert.deepEqual(seen, MILESTONES.slice(0, last === undefined ? 0 : MILESTONES.indexOf(last) + 1))
      } finally {
        proxy.heal()
      }
    })
  }

  it('rst, close and stall differ on the wire (raw socket at accept)', async () => {
    const outcome = async (fault: FaultKind): Promise<string> => {
      proxy.inject({ phase: 'accept', fault })
      const fired = proxy.nextFault(LIMIT_MS)
      const socket = connect({ host: '127.0.0.1', port: proxy.port })
      const result = new Promise<string>((resolve) => {
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code ?? e.message}`))
        socket.once('end', () => resolve('end'))
      })
      await fired
      proxy.heal()
      if (fault === 'stall') {
        await new Promise((r) => setTimeout(r, 100))
        socket.destroy()
        return `open after the fault, bytes ${socket.bytesRead}`
      }
      const r = await within(result, fault)
      socket.destroy()
      return r
    }
    assert.equal(await outcome('rst'), 'error ECONNRESET')
    assert.equal(await outcome('close'), 'end')
    assert.equal(await outcome('stall'), 'open after the fault, bytes 0')
  })

  it('heal(): connections from then on relay normally; a stalled one stays stalled', async () => {
    proxy.inject({ phase: 'startup', fault: 'stall' })
    const stalled = pgClient()
    const fired = proxy.nextFault(LIMIT_MS)
    let done = false
    const stuck = stalled.client.connect().then(() => { done = true }, () => { done = true })
    await fired
    proxy.heal()
    const { client } = pgClient()
    await client.connect()
    assert.equal((await client.query('SELECT 42 AS n')).rows[0].n, 42)
    await client.end()
    assert.equal(done, false, 'the stalled connection did not come back to life')
    ;(stalled.client as unknown as { connection: { stream: Socket } }).connection.stream.destroy()
    await within(stuck, 'the stalled client to fail')
  })

  it('close() destroys every socket, stalled ones too, and leaves no handle behind', async () => {
    const baseline = await settledHandles()
    const own = await startFaultProxy({ upstreamPort: lab.server('good').port, fault: { phase: 'auth', fault: 'stall' } })
    const clients = [pgClient(own.port), pgClient(own.port)]
    const attempts = clients.map(({ client }) => client.connect().then(() => 'connected', () => 'failed'))
    await within(new Promise<void>((resolve) => {
      const poll = (): void => { if (own.connections().filter((c) => c.fired !== undefined).length === 2) resolve(); else setTimeout(poll, 20) }
      poll()
    }), 'both connections to stall')
    assert.ok(tcpHandles() > baseline)
    await own.close()
    assert.deepEqual(await within(Promise.all(attempts), 'clients to see the close'), ['failed', 'failed'])
    await handlesBackTo(baseline)
  })
})
