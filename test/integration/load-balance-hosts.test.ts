// load_balance_hosts on two real servers: `disable` always takes the first that connects, `random` spreads
// new connections over both (each connect shuffles the list with crypto randomness, as libpq 16 does).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createAzurePgClient, createAzurePgPool, type AzurePgPoolOptions } from '../../src/index.js'
import type { LoadBalanceHosts } from '../../src/options.js'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { timeLimit } from '../support/within.js'

const within = timeLimit(15_000)
let lab: Lab
before(async () => { lab = await startLab(['good', 'p256Only']) })
after(async () => { await lab?.stop() })

function options(balance: LoadBalanceHosts): AzurePgPoolOptions {
  const ports = [lab.server('good').port, lab.server('p256Only').port]
  return {
    host: [AZURE_HOST, AZURE_HOST], hostaddr: ['127.0.0.1', '127.0.0.1'], port: ports, database: 'postgres',
    user: LOGINS.flexible.user, password: LOGINS.flexible.password, sslrootcert: lab.rootPath, env: {},
    connectionTimeoutMillis: 10_000, learn: 'memory', load_balance_hosts: balance,
  }
}

/** The server port of each of `n` new connections. */
async function portsOfNewConnections(balance: LoadBalanceHosts, n: number): Promise<number[]> {
  const ports: number[] = []
  for (let i = 0; i < n; i++) {
    const c = await createAzurePgClient(options(balance))
    await within(c.connect(), 'connect')
    ports.push(Number((await c.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]?.p))
    await c.end()
  }
  return ports
}

describe('load_balance_hosts', () => {
  it('disable: every connection goes to the first server', async () => {
    assert.deepEqual(new Set(await portsOfNewConnections('disable', 6)), new Set([lab.server('good').port]))
  })

  it('random: new connections reach both servers (a spread that fails with probability 2^-19)', async () => {
    assert.deepEqual(new Set(await portsOfNewConnections('random', 20)), new Set([lab.server('good').port, lab.server('p256Only').port]))
  })

  it('random in a pool: each new pool connection is shuffled on its own', async () => {
    const pool = await createAzurePgPool({ ...options('random'), max: 20 })
    try {
      const clients = await Promise.all(Array.from({ length: 20 }, () => within(pool.connect(), 'checkout')))
      const ports = new Set(await Promise.all(clients.map(async (c) => Number((await c.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]?.p))))
      for (const c of clients) c.release()
      assert.deepEqual(ports, new Set([lab.server('good').port, lab.server('p256Only').port]))
    } finally { await pool.end() }
  })
})
