// The two contenders of the bench, given the same server and the same trust set: plain node-postgres
// with `ssl: { ca, servername }`, and the SDK with `ssl: { ca }`. One new connection each time:
// create the client, connect, SELECT 1, end.
import pg from 'pg'
import { createAzurePgClient, type AzurePgOptions } from '../src/index.js'
import { AZURE_HOST, LOGINS } from '../lab/lab.js'
import type { ConnectionTimeline, DelayProxy } from '../lab/delay-proxy.js'
import { countRoundTrips, segmentsOf, type Segment } from '../lab/round-trips.js'

export type Contender = 'pg' | 'sdk'

/** Where to connect and whom to trust. */
export interface Target {
  readonly port: number
  /** PEM roots: Azure's three plus the lab root. */
  readonly ca: readonly string[]
  /** The SDK's certificate cache folder (and, once the SDK keeps them, its learned per-host facts). */
  readonly cacheDir: string
}

export function rawConfig(target: Target): pg.ClientConfig {
  return {
    host: '127.0.0.1', port: target.port, user: LOGINS.flexible.user, password: LOGINS.flexible.password, database: 'postgres',
    ssl: { ca: [...target.ca], servername: AZURE_HOST },
  }
}

export function sdkOptions(target: Target): AzurePgOptions {
  return {
    host: AZURE_HOST, hostaddr: '127.0.0.1', port: target.port, user: LOGINS.flexible.user, password: LOGINS.flexible.password,
    database: 'postgres', ssl: { ca: [...target.ca] }, env: {}, certs: { cacheDir: target.cacheDir },
  }
}

/** Times of one new connection on the `performance.now()` clock. */
export interface Run {
  readonly start: number
  /** The result of SELECT 1 is in hand. */
  readonly answered: number
  /** end() has resolved. */
  readonly ended: number
}

/** One new connection: factory or constructor, connect, SELECT 1, end. */
export async function newConnection(who: Contender, target: Target): Promise<Run> {
  const start = performance.now()
  const client = who === 'pg' ? new pg.Client(rawConfig(target)) : await createAzurePgClient(sdkOptions(target))
  await client.connect()
  await client.query('SELECT 1')
  const answered = performance.now()
  await client.end()
  return { start, answered, ended: performance.now() }
}

/** One new connection through a delay proxy, with what the proxy saw of it. */
export interface ProxiedRun {
  readonly roundTrips: number
  /** Time to the query's result, in round-trip times. */
  readonly rttEquivalents: number
  /** TCP connections the proxy relayed for it (more than one: a refused attempt and a retry). */
  readonly connections: number
  readonly directTls: boolean
  readonly segments: readonly Segment[]
  readonly timelines: readonly ConnectionTimeline[]
}

export async function proxiedConnection(who: Contender, target: Target, proxy: DelayProxy): Promise<ProxiedRun> {
  proxy.reset()
  const run = await newConnection(who, target)
  // The server's last records (its close_notify) reach the proxy a moment after end() resolves.
  await new Promise((resolve) => setTimeout(resolve, 2 * proxy.delayMs + 20))
  const timelines = proxy.connections()
  const last = timelines[timelines.length - 1]
  return {
    roundTrips: timelines.reduce((n, t) => n + countRoundTrips(t).roundTrips, 0),
    rttEquivalents: (run.answered - run.start) / (2 * proxy.delayMs),
    connections: timelines.length,
    directTls: last?.directTls ?? false,
    segments: last === undefined ? [] : segmentsOf(last, run.start, run.answered),
    timelines,
  }
}
