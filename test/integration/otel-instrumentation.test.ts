// OpenTelemetry's instrumentation-pg (the way pg queries become spans in Application Insights / Azure Monitor)
// through every way in the SDK offers, from an ES module and a CommonJS application, with the real OpenTelemetry
// SDK against the lab's PostgreSQL 18. The instrumentation patches pg as it loads, so each application runs in a
// child process whose tracing setup is preloaded (test/support/otel/), as an application's is; the built package
// is loaded through its exports map.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AZURE_HOST, LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { ensureFreshBuild } from '../support/fresh-build.js'

const run = promisify(execFile)
const probeDir = fileURLToPath(new URL('../support/otel/', import.meta.url))

interface ProbeSpan { name: string; attributes: Record<string, unknown>; status: number; error: string | null; events: unknown[] }
interface Outcome { failure: string | null; spans: ProbeSpan[]; open: string[] }
interface ProbeOutput { loaded: string; results: Record<string, Outcome> }

/** The three submittables' spans (two cursors, one stream): plain pg under instrumentation-pg never ends them. */
const SUBMITTABLE_SPANS = ['pg.query:SELECT postgres', 'pg.query:SELECT postgres', 'pg.query']

/**
 * The SDK's ways in, with how many query spans each one's work ends (see scenarios.cjs) and the spans it leaves
 * open: none, except where the clients are plain pg's (a pg.Pool given resolveAzurePgConfig's options).
 */
const SDK_ROUTES: ReadonlyArray<readonly [route: string, queries: number, poolConnects: number, open: readonly string[]]> = [
  ['createAzurePgClient', 10, 0, []],
  ['createAzurePgClient, connect callback', 1, 0, []],
  ['createAzurePgPool', 10, 8, []],
  ['resolveAzurePgConfig + pg.Pool', 7, 8, SUBMITTABLE_SPANS],
  ['azure-pg-tls/pg Pool', 10, 8, []],
  ['azure-pg-tls/pg Client', 7, 0, []],
  ['Knex with azure-pg-tls/pg', 4, 0, []], // its three, and the version Knex asks for on a new connection
]

describe('OpenTelemetry instrumentation-pg through the SDK', { timeout: 240_000 }, () => {
  let lab: Lab
  let env: NodeJS.ProcessEnv
  let port: number
  before(async () => {
    await Promise.all([ensureFreshBuild(), (async () => { lab = await startLab(['good']) })()])
    port = lab.server('good').port
    const login = { user: LOGINS.flexible.user, password: LOGINS.flexible.password, database: 'postgres', port }
    const options = { ...login, host: AZURE_HOST, hostaddr: '127.0.0.1', sslrootcert: lab.rootPath }
    const raw = { ...login, host: '127.0.0.1', ca: await readFile(lab.rootPath, 'utf8'), servername: AZURE_HOST }
    const keep = ['PATH', 'HOME', 'TMPDIR'].filter((k) => process.env[k] !== undefined)
    env = { ...Object.fromEntries(keep.map((k) => [k, process.env[k]])), OTEL_PROBE: JSON.stringify({ options, raw }) }
  })
  after(async () => { await lab?.stop() })

  for (const [kind, args, built] of [
    ['an ES module application', ['--import', './setup.mjs', 'probe.mjs'], /\/dist\/esm\/index\.js/],
    ['a CommonJS application', ['--require', './setup.cjs', 'probe.cjs'], /\/dist\/cjs\/index\.js$/],
  ] as const) {
    it(`${kind}: spans name the host the user gave, carry no secret, and every span started is ended`, async () => {
      let stdout: string
      try {
        stdout = (await run(process.execPath, [...args], { cwd: probeDir, env, timeout: 100_000, maxBuffer: 64 * 1024 * 1024 })).stdout
      } catch (err) {
        const e = err as { message?: string; stdout?: string; stderr?: string }
        throw new Error(`the probe failed: ${e.message ?? ''}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`)
      }
      const out = JSON.parse(stdout) as ProbeOutput
      assert.match(out.loaded, built)
      // No password, in any attribute, status or event, of any span (the wrong one of the refused connect included).
      for (const secret of [LOGINS.flexible.password, 'Wrong-Pa55']) assert.ok(!stdout.includes(secret), `${secret} appears in a span`)

      for (const [route, queries, poolConnects, open] of SDK_ROUTES) {
        const r = out.results[route]
        assert.ok(r !== undefined, route)
        assert.equal(r.failure, null, route)
        assert.deepEqual(r.open, open, `${route}: spans left open`)
        const count = (prefix: string): number => r.spans.filter((s) => s.name === prefix || s.name.startsWith(`${prefix}:`)).length
        assert.equal(count('pg.query'), queries, `${route}: query spans`)
        assert.equal(count('pg-pool.connect'), poolConnects, `${route}: pool checkout spans`)
        assert.ok(count('pg.connect') >= 1, `${route}: a connect span`)
        for (const s of r.spans) {
          assert.deepEqual(
            [s.attributes['db.system.name'], s.attributes['server.address'], s.attributes['server.port'], s.attributes['db.namespace']],
            ['postgresql', AZURE_HOST, port, 'postgres'], `${route}: ${s.name}`)
        }
        // The failing query of each form is an error span; the others are not.
        if (route !== 'createAzurePgClient, connect callback') assert.ok(r.spans.some((s) => s.status === 2 && s.name.startsWith('pg.query')), `${route}: an error span`)
      }

      const refused = out.results['a refused connect (wrong password)']
      assert.deepEqual(refused?.spans.map((s) => [s.name, s.status, s.attributes['server.address']]), [['pg.connect', 2, AZURE_HOST]])
      assert.deepEqual(refused?.open, [])

      // The control: plain pg reports the address it connected to, and instrumentation-pg 0.76 leaves the spans of
      // submittables without a callback open (the SDK's clients give them one; a pg.Pool from resolveAzurePgConfig
      // is plain pg, so the same holds there).
      const control = out.results['raw pg (control)']
      assert.equal(control?.spans[0]?.attributes['server.address'], '127.0.0.1')
      assert.deepEqual(control?.open, SUBMITTABLE_SPANS)
    })
  }
})
