// A two-server host list in each connection string form (libpq key=value, URI, pgjdbc JDBC, Npgsql ADO.NET)
// goes through the host loop end to end, on the lab's real primary/standby pair: with the first server down
// (a refused port) the second is reached and verified against its own name; with the first down and an
// impostor second (a certificate from a CA nobody trusts, or a trusted one for another name) the connect
// fails with TLS_VERIFY_FAILED and the impostor gets nothing inside TLS; and target_session_attrs, spelled
// the form's own way (target_session_attrs, pgjdbc's targetServerType, Npgsql's Target Session
// Attributes), skips the standby listed first for the primary. The lab's names reach 127.0.0.1 through
// hostaddr: in the string for the two libpq forms, beside it (options) for JDBC and ADO.NET, which have none.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { AzurePgError, createAzurePgClient, type AzurePgPoolOptions } from '../../src/index.js'
import { startFakeTlsServer, type FakeTlsServer } from '../../lab/fake-tls-server.js'
import { PRIMARY_HOST, STANDBY_HOST, startHaPair, type HaPair } from '../../lab/ha-pair.js'
import { LOGINS } from '../../lab/lab.js'
import { createIntermediate, createRootCa, issueServerCertificate } from '../../lab/pki.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { timeLimit } from '../support/within.js'
import { connectError as connectErrorOf } from '../support/assert-error.js'

const within = timeLimit(20_000)
/** The first server's name; nothing listens at its port. */
const DOWN_HOST = 'firstserver.postgres.database.azure.com'
const { user, password } = LOGINS.flexible

let pair: HaPair
let closedPort: number
const fakes: FakeTlsServer[] = []

before(async () => {
  pair = await startHaPair({ synchronous: false })
  closedPort = await refusingPort()
})
after(async () => {
  await Promise.all(fakes.map((f) => f.close()))
  await pair?.stop()
})

/** One server of the list: its name and port. */
interface Entry { readonly name: string; readonly port: number }

type Form = 'key=value' | 'URI' | 'JDBC' | 'ADO.NET'

/**
 * The string of `form` naming `entries` in order, with `primaryOnly` asking for the primary in the form's own
 * spelling; and the options that go beside it (hostaddr where the form cannot carry it).
 */
function configFor(form: Form, entries: readonly Entry[], primaryOnly = false): AzurePgPoolOptions {
  const hostPorts = entries.map((e) => `${e.name}:${e.port}`).join(',')
  const addresses = entries.map(() => '127.0.0.1')
  const beside: AzurePgPoolOptions = { sslrootcert: pair.rootPath, env: {}, connectionTimeoutMillis: 10_000, learn: 'off' }
  switch (form) {
    case 'key=value':
      return {
        ...beside,
        connectionString: `host=${entries.map((e) => e.name).join(',')} hostaddr=${addresses.join(',')} port=${entries.map((e) => e.port).join(',')} ` +
          `dbname=postgres user=${user} password='${password}' sslmode=verify-full${primaryOnly ? ' target_session_attrs=primary' : ''}`,
      }
    case 'URI':
      return {
        ...beside,
        connectionString: `postgresql://${user}:${encodeURIComponent(password)}@${hostPorts}/postgres?hostaddr=${addresses.join(',')}&sslmode=verify-full${primaryOnly ? '&target_session_attrs=read-write' : ''}`,
      }
    case 'JDBC':
      return {
        ...beside, hostaddr: addresses,
        connectionString: `jdbc:postgresql://${hostPorts}/postgres?user=${user}&password=${encodeURIComponent(password)}&sslmode=verify-full${primaryOnly ? '&targetServerType=primary' : ''}`,
      }
    case 'ADO.NET':
      return {
        ...beside, hostaddr: addresses,
        connectionString: `Host=${hostPorts};Database=postgres;Username=${user};Password=${password};Ssl Mode=VerifyFull${primaryOnly ? ';Target Session Attributes=read-write' : ''}`,
      }
  }
}

/** Connects, and reports the port the server itself says it listens on and the name the client reports. */
async function landing(opts: AzurePgPoolOptions): Promise<{ port: number | undefined; host: unknown }> {
  const c = await createAzurePgClient(opts)
  await within(c.connect(), 'connect')
  try {
    const r = await within(c.query<{ port: number; ssl: boolean }>('SELECT inet_server_port() AS port, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'), 'query')
    assert.equal(r.rows[0]?.ssl, true)
    return { port: r.rows[0]?.port, host: (c as unknown as { host: unknown }).host }
  } finally { await within(c.end(), 'end') }
}

const connectError = (opts: AzurePgPoolOptions): Promise<AzurePgError> => connectErrorOf(opts, within)

const FORMS: readonly Form[] = ['key=value', 'URI', 'JDBC', 'ADO.NET']

describe('a two-server host list in each string form', () => {
  for (const form of FORMS) {
    it(`${form}: the first server down, the second (genuine) is reached and verified against its own name`, async () => {
      const got = await landing(configFor(form, [{ name: DOWN_HOST, port: closedPort }, { name: PRIMARY_HOST, port: pair.primary.port }]))
      assert.equal(got.port, pair.primary.port)
      assert.equal(got.host, PRIMARY_HOST)
    })

    for (const kind of ['untrusted CA', 'other name'] as const) {
      it(`${form}: the first server down, an impostor second (${kind}) is refused with TLS_VERIFY_FAILED and gets nothing inside TLS`, async () => {
        const credentials = kind === 'untrusted CA'
          ? await issueServerCertificate(await createIntermediate(await createRootCa('Impostor Root'), 'Impostor CA'), { dnsNames: [PRIMARY_HOST] })
          : await issueServerCertificate(pair.root, { dnsNames: ['otherserver.example.com'] })
        const fake = await startFakeTlsServer('echo-password', credentials)
        fakes.push(fake)
        const err = await connectError(configFor(form, [{ name: DOWN_HOST, port: closedPort }, { name: PRIMARY_HOST, port: fake.port }]))
        assert.equal(err.code, 'TLS_VERIFY_FAILED')
        assert.equal(err.reason, kind === 'untrusted CA' ? 'unknown-ca' : 'hostname')
        assert.deepEqual(err.errors.map((e) => (e as AzurePgError).code), ['CONNECTION_FAILED', 'TLS_VERIFY_FAILED'])
        assert.match(err.message, new RegExp(`:${closedPort} refused the connection; ${PRIMARY_HOST.replaceAll('.', '\\.')} \\(127\\.0\\.0\\.1\\):${fake.port} failed TLS verification`))
        assert.equal(fake.record.connections, 1)
        assert.equal(fake.record.secret[0]?.length ?? 0, 0)
        assert.ok(!err.message.includes(password))
      })
    }

    it(`${form}: the form's own target_session_attrs spelling skips the standby listed first for the primary`, async () => {
      const got = await landing(configFor(form, [{ name: STANDBY_HOST, port: pair.standby.port }, { name: PRIMARY_HOST, port: pair.primary.port }], true))
      assert.equal(got.port, pair.primary.port)
      assert.equal(got.host, PRIMARY_HOST)
    })
  }

  it('without target_session_attrs the same list settles on the standby listed first (the attribute above did the choosing)', async () => {
    for (const form of FORMS) {
      const got = await landing(configFor(form, [{ name: STANDBY_HOST, port: pair.standby.port }, { name: PRIMARY_HOST, port: pair.primary.port }]))
      assert.equal(got.port, pair.standby.port, form)
      assert.equal(got.host, STANDBY_HOST, form)
    }
  })
})
