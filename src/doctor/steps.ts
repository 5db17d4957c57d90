// The doctor's steps, in order. Each reads what earlier steps left in the state, does one check,
// and returns its result; the runner in run-doctor.ts stops at the first failure.
import { X509Certificate } from 'node:crypto'
import { isIP, type Socket } from 'node:net'
import { checkServerIdentity, rootCertificates } from 'node:tls'
import type pg from 'pg'
import { resolveOptions, type Settings } from '../config/resolve.js'
import { authObservation } from '../connect/auth-guard.js'
import { AzurePgClient } from '../connect/client.js'
import { prepare, type Prepared } from '../connect/prepare.js'
import { AzurePgError } from '../errors.js'
import { adviceFor, classifyConnectError, explainConnectError, where, type ConnectContext } from '../explain.js'
import { commonName, parseCertificates } from '../util/pem.js'
import { DEFAULT_ROOTS, readBundledRoot } from '../trust/store.js'
import { describeTier } from '../trust/trust-tier.js'
import { askedLine, authVerdict, policyLine } from './auth-notes.js'
import { AZURE_HA_NOTES, chosenByRoles, probeRole, roleWords, settingsForHost } from './host-roles.js'
import { needsHostLoop } from '../connect/host-order.js'
import { peerChain, rootVerdict, type CandidateRoot } from './chain.js'
import { incompleteChainVerdict } from './incomplete-chain.js'
import { dnsNotes, poolerNote, serverKind } from './notes.js'
import { probePlaintext, probeUserName, type PlaintextVerdict } from './plaintext-probe.js'
import { askForTls, inspectTls, openTcp, resolveAddresses, type HandshakeResult } from './probe.js'
import type { DoctorInput, StepName, StepResult } from './report.js'

/** What the steps learn and hand on; the runner closes what it holds at the end. */
export interface DoctorState {
  readonly input: DoctorInput
  settings?: Settings
  prepared?: Prepared
  /** The address the TCP step connects to. */
  address?: string
  /** The TCP socket, used by the TLS steps. */
  socket?: Socket
  /** The logged-in client, used by the server step. */
  client?: pg.Client
  /** The plaintext probe's verdict, for the report. */
  plaintext?: PlaintextVerdict
}

/** One check: its name, and how to run it. `undefined` means the step does not apply. */
export interface DoctorStep {
  readonly name: StepName
  run(state: DoctorState): Promise<StepResult | undefined>
}

const pass = (step: StepName, summary: string, details: string[] = [], ms?: number): StepResult =>
  ({ step, status: 'pass', summary, details, ...(ms !== undefined && { ms }) })

function fail(step: StepName, summary: string, err: { code: string; reason: string; fix: string }, details: string[] = []): StepResult {
  return { step, status: 'fail', summary, details, code: err.code, reason: err.reason, fix: err.fix }
}

/** Explains a raw error (system, TLS, pg) through the shared error-to-fix table. */
function explained(err: unknown, ctx: ConnectContext, secrets: readonly string[] = []): { code: string; reason: string; fix: string } {
  const e = explainConnectError(err, ctx, secrets)
  return { code: e.code, reason: e.message, fix: e.hint }
}

/** A failure the doctor diagnosed itself, with the table's code and fix for it. */
function advice(id: Parameters<typeof adviceFor>[0], ctx: ConnectContext, reason: string): { code: string; reason: string; fix: string } {
  const a = adviceFor(id, ctx)
  return { code: a.code, reason, fix: a.hint }
}

/** The fields of a step that earlier steps must have set; a missing one is a bug in the step list. */
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`azure-pg-tls doctor: ${what} is not known yet`)
  return value
}

async function candidateRoots(ca: Prepared['config']['ssl']['ca']): Promise<CandidateRoot[]> {
  const out: CandidateRoot[] = []
  const trust = Array.isArray(ca) ? ca : [ca]
  for (const item of trust) {
    try {
      for (const cert of parseCertificates(typeof item === 'string' || Buffer.isBuffer(item) ? item : Buffer.from(item as Uint8Array))) {
        out.push({ name: commonName(cert), where: 'trust set', cert })
      }
    } catch {
      // An unparsable entry in ssl.ca cannot vouch for anything.
    }
  }
  for (const root of DEFAULT_ROOTS) {
    out.push({ name: root.name, where: 'azure', cert: new X509Certificate(await readBundledRoot(root)) })
  }
  for (const pem of rootCertificates) {
    const cert = new X509Certificate(pem)
    out.push({ name: commonName(cert), where: 'system', cert })
  }
  return out
}

function handshakeStep(hs: HandshakeResult, host: string, ctx: ConnectContext, candidates: readonly CandidateRoot[]): StepResult {
  const { entries, certs } = peerChain(hs.peer)
  const details = [
    `${hs.protocol}, ${hs.cipher}${hs.alpn === false ? '' : `, ALPN ${hs.alpn}`}`,
    ...entries.map((e, i) => `chain[${i}] ${e.subject} (issuer ${e.issuer}, until ${e.notAfter}${e.altNames === undefined ? '' : `, ${e.altNames}`})`),
  ]
  const top = certs[certs.length - 1]
  const leaf = certs[0]
  const verdict = top === undefined ? 'the server sent no certificate' : rootVerdict(top, candidates, ctx.trust)
  // Node reports a host name mismatch as an authorization error too; it is a different diagnosis.
  const identity = checkServerIdentity(host, hs.peer)
  if (identity !== undefined || hs.authorizationError === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = entries[0]?.altNames?.replace(/DNS:/g, '') ?? entries[0]?.subject ?? '?'
    return fail('tls-handshake', 'certificate is for another host name', advice('tls-hostname', ctx, `the certificate is for ${names}, you connected to ${host}`), details)
  }
  if (!hs.authorized) {
    const code = hs.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
    const reason = code === 'CERT_HAS_EXPIRED' ? `a certificate in the chain has expired (the server's is valid until ${entries[0]?.notAfter ?? '?'})`
      : code === 'CERT_NOT_YET_VALID' ? `a certificate in the chain is not valid yet (from ${leaf?.validFrom ?? '?'})`
        : incompleteChainVerdict({ errorCode: code, sent: certs, candidates, trustDescription: ctx.trust }) ?? verdict
    return fail('tls-handshake', `certificate not trusted (${code})`, advice(classifyConnectError({ code }) ?? 'tls-unknown-ca', ctx, reason), details)
  }
  return pass('tls-handshake', `${hs.protocol}, verified: ${verdict}`, details, hs.ms)
}


const configuration: DoctorStep = {
  name: 'configuration',
  async run(state) {
    try {
      state.settings = resolveOptions(state.input.options)
      state.prepared = await prepare(state.settings)
    } catch (err) {
      if (!(err instanceof AzurePgError)) throw err
      return fail('configuration', err.code === 'INSECURE_TLS' ? 'insecure setting refused' : 'configuration not usable', { code: err.code, reason: err.message, fix: err.hint })
    }
    const { settings, prepared } = state
    const { host, port } = settings
    return pass('configuration', `${host}:${port} as ${prepared.context.user || '(from the Entra ID token)'}`, [
      serverKind(settings),
      ...poolerNote(settings),
      ...settings.warnings.map((w) => `note: ${w}`),
      `sslmode ${settings.tls.requestedMode}${settings.tls.strengthened ? ' (raised to verify-full)' : ''}, trust: ${prepared.context.trust}`,
      describeTier(settings),
      policyLine(settings),
      ...(settings.connectHost !== host ? [`hostaddr ${settings.connectHost}: connecting there, verifying the certificate for ${host}`] : []),
      ...(settings.entra !== undefined ? [`Entra ID token scope ${settings.entra.scope}`] : []),
      ...(settings.hosts.length > 1 ? [`host list of ${settings.hosts.length} servers (target_session_attrs=${settings.targetSessionAttrs}, load_balance_hosts=${settings.loadBalanceHosts}): the network and TLS steps check the first; the hosts step logs in to each`] : []),
    ])
  },
}

const dns: DoctorStep = {
  name: 'dns',
  async run(state) {
    const settings = need(state.settings, 'the configuration')
    const { connectHost, host } = settings
    state.address = connectHost
    if (isIP(connectHost) !== 0) return pass('dns', connectHost === host ? `${host} is an address: no lookup` : `hostaddr ${connectHost} given: no lookup`)
    try {
      const { addresses, ms } = await resolveAddresses(connectHost, state.input.timeoutMs, state.input.lookup)
      state.address = addresses[0] ?? connectHost
      return pass('dns', `${addresses.join(', ')} in ${ms} ms`, dnsNotes(settings, addresses), ms)
    } catch (err) {
      return fail('dns', `cannot resolve ${connectHost}`, explained(err, need(state.prepared, 'the configuration').context))
    }
  },
}

const tcp: DoctorStep = {
  name: 'tcp',
  async run(state) {
    const address = need(state.address, 'the address')
    const { port } = need(state.settings, 'the configuration')
    try {
      const { socket, ms } = await openTcp(address, port, state.input.timeoutMs)
      state.socket = socket
      return pass('tcp', `${address}:${port} in ${ms} ms`, [], ms)
    } catch (err) {
      return fail('tcp', `cannot connect to ${address}:${port}`, explained(err, need(state.prepared, 'the configuration').context))
    }
  },
}

const tlsRequest: DoctorStep = {
  name: 'tls-request',
  async run(state) {
    const { context } = need(state.prepared, 'the configuration')
    if (need(state.settings, 'the configuration').tls.sslnegotiation === 'direct') {
      return pass('tls-request', 'direct TLS requested (sslnegotiation=direct): no SSLRequest, ALPN "postgresql"')
    }
    let answer: { answer: string; ms: number }
    try {
      answer = await askForTls(need(state.socket, 'the TCP socket'), state.input.timeoutMs)
    } catch (err) {
      return fail('tls-request', 'no answer to the TLS request', explained(err, context))
    }
    if (answer.answer === 'N') return fail('tls-request', 'server answered N: TLS not offered', advice('server-refused-tls', context, 'the server answered the TLS request with "N": it does not offer TLS'))
    if (answer.answer !== 'S') return fail('tls-request', `server answered ${answer.answer}, neither S nor N`, advice('not-postgres', context, 'the answer to the TLS request is neither "S" nor "N": this does not look like PostgreSQL'))
    return pass('tls-request', `server answered S (TLS offered) in ${answer.ms} ms`, [], answer.ms)
  },
}

const tlsHandshake: DoctorStep = {
  name: 'tls-handshake',
  async run(state) {
    const settings = need(state.settings, 'the configuration')
    const prepared = need(state.prepared, 'the configuration')
    const direct = settings.tls.sslnegotiation === 'direct'
    let hs: HandshakeResult
    try {
      // On a fresh socket (direct), the handshake starts at once; after `S`, it follows the SSLRequest.
      hs = await inspectTls(need(state.socket, 'the TCP socket'), {
        servername: settings.tls.servername, ca: prepared.config.ssl.ca, timeoutMs: state.input.timeoutMs, ...(direct && { alpn: ['postgresql'] }),
      })
    } catch (err) {
      const e = explained(err, prepared.context)
      return fail('tls-handshake', direct ? 'direct TLS failed' : 'TLS handshake failed', direct
        ? { ...e, fix: 'The server may not accept direct TLS: use sslnegotiation=postgres (the default).' }
        : e)
    } finally {
      state.socket?.destroy()
      state.socket = undefined
    }
    return handshakeStep(hs, settings.host, prepared.context, await candidateRoots(prepared.config.ssl.ca))
  },
}

/** How to make the server refuse plaintext, on both Azure services. */
const ENFORCE_TLS = 'Turn TLS enforcement on: Flexible Server: az postgres flexible-server parameter set --resource-group <group> --server-name <server> --name require_secure_transport --value on; Single Server: az postgres server update --resource-group <group> --name <server> --ssl-enforcement Enabled.'

const plaintextProbe: DoctorStep = {
  name: 'plaintext-probe',
  async run(state) {
    const settings = need(state.settings, 'the configuration')
    if (state.input.plaintextProbe === false) return { step: 'plaintext-probe', status: 'skip', summary: 'skipped (--no-plaintext-probe)', details: [] }
    const serverName = settings.serverType === 'single' ? settings.serverName ?? settings.azure?.serverName : undefined
    const user = probeUserName(settings.user, serverName)
    const r = await probePlaintext(need(state.address, 'the address'), settings.port, user, state.input.timeoutMs)
    state.plaintext = r.verdict
    const details = [`sent a plaintext StartupMessage for the random user ${r.probeUser} (not yours; no password), read the first answer, closed`, `server: ${r.answer}`]
    if (r.verdict === 'enforced') return pass('plaintext-probe', 'TLS enforced: the server refuses logins without TLS', details)
    if (r.verdict === 'unknown') return { step: 'plaintext-probe', status: 'skip', summary: 'could not tell whether the server enforces TLS', details }
    return {
      step: 'plaintext-probe', status: 'warn', summary: 'TLS not enforced: the server accepts logins without TLS', details,
      reason: 'this client always uses verified TLS, but other clients of this server may send passwords and data in plaintext',
      fix: ENFORCE_TLS,
    }
  },
}

const authentication: DoctorStep = {
  name: 'authentication',
  async run(state) {
    const settings = need(state.settings, 'the configuration')
    const prepared = need(state.prepared, 'the configuration')
    // Credentials are given when the resolved settings carry a password (option, string, PGPASSWORD) or Entra.
    if (settings.password === undefined && settings.entra === undefined) {
      return { step: 'authentication', status: 'skip', summary: 'no credentials given: pass --password-stdin, set PGPASSWORD, or --entra to test the login', details: [] }
    }
    // --timeout bounds the login and the server's queries too, not only the network steps.
    const limit = state.input.timeoutMs
    // With a host list, the steps so far looked at its first server: the login too (the hosts step looks at each).
    const login = needsHostLoop(settings.hosts.length, settings.targetSessionAttrs) ? await prepare(settingsForHost(settings, need(settings.hosts[0], 'the first host'))) : prepared
    const client = new AzurePgClient(login, { ...login.config, connectionTimeoutMillis: limit, query_timeout: limit })
    try {
      await client.connect()
    } catch (err) {
      const seen = authObservation(client)
      const asked = seen === undefined ? undefined : askedLine(seen)
      return fail('authentication', `login as ${prepared.context.user || '(from the Entra ID token)'} refused`, explained(err, prepared.context, prepared.secrets()), asked === undefined ? [] : [asked])
    }
    state.client = client
    const r = await client.query<{ who: string }>('SELECT current_user AS who')
    // The method the server asked for and whether the login was bound to TLS; a weak one is a warning.
    const verdict = authVerdict(settings, authObservation(client))
    return {
      step: 'authentication', status: verdict.status, summary: `logged in as ${r.rows[0]?.who ?? prepared.context.user}`, details: [...verdict.details],
      ...(verdict.reason !== undefined && { reason: verdict.reason }), ...(verdict.fix !== undefined && { fix: verdict.fix }),
    }
  },
}

const server: DoctorStep = {
  name: 'server',
  async run(state) {
    const client = state.client
    if (client === undefined) return undefined
    const r = await client.query<{ version: string; ssl: boolean; tls: string; cipher: string; rst: string | null }>(
      `SELECT current_setting('server_version') AS version, s.ssl, s.version AS tls, s.cipher,
              current_setting('require_secure_transport', true) AS rst
         FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()`)
    const row = r.rows[0]
    return pass('server', `PostgreSQL ${row?.version ?? '?'}, ssl ${String(row?.ssl)}, ${row?.tls ?? '?'}`, [
      row?.rst === null || row?.rst === undefined
        ? 'require_secure_transport: not visible (not an Azure server, or not exposed to this role)'
        : `require_secure_transport: ${row.rst}${row.rst === 'on' ? '' : ' — Azure advises on'}`,
      `cipher ${row?.cipher ?? '?'}`,
    ])
  },
}

const hosts: DoctorStep = {
  name: 'hosts',
  async run(state) {
    const settings = need(state.settings, 'the configuration')
    const { targetSessionAttrs: attrs } = settings
    if (!needsHostLoop(settings.hosts.length, attrs)) return undefined
    const list = settings.hosts.map(where)
    if (state.client === undefined) {
      return { step: 'hosts', status: 'skip', summary: `${list.length} servers, target_session_attrs=${attrs}: log in (--password-stdin, PGPASSWORD or --entra) to see each one's role`, details: list }
    }
    const roles = await Promise.all(settings.hosts.map((h) => probeRole(settings, h, state.input.timeoutMs)))
    const details = [
      ...roles.map((r, i) => `${list[i] ?? '?'}: ${roleWords(r)}`),
      ...(settings.loadBalanceHosts === 'random' ? ['load_balance_hosts=random: each connect tries the servers in its own random order; the choice below is for the order given'] : []),
      ...AZURE_HA_NOTES,
    ]
    const chosen = chosenByRoles(roles, attrs)
    if (chosen === undefined) {
      const failedLogin = roles.find((r) => !r.ok)
      return {
        step: 'hosts', status: 'fail', summary: `target_session_attrs=${attrs}: no server of the list would be chosen`, details,
        code: failedLogin === undefined ? 'CONNECTION_FAILED' : failedLogin.code,
        reason: failedLogin === undefined ? `none of the ${roles.length} servers is of the kind ${attrs} asks for` : 'a server could not be logged in to, and none of the others is of the kind asked for',
        fix: 'List the server of that role (the primary for read-write, a read replica for read-only or standby), or change target_session_attrs; on Azure, the writer virtual endpoint always points to the primary.',
      }
    }
    const role = roles[chosen]
    const failed = roles.slice(0, chosen).some((r) => !r.ok)
    return {
      step: 'hosts', status: failed ? 'warn' : 'pass',
      summary: `target_session_attrs=${attrs} would choose ${list[chosen] ?? '?'} (${role?.ok === true && role.inRecovery ? 'standby' : 'primary'})`, details,
      ...(failed && {
        reason: 'a server listed before it could not be logged in to: a connect stops at a failure after a server has answered (TLS, login), as libpq does, and reaches the chosen one only when the earlier ones are down or out of time',
        fix: 'Fix or remove the server that failed, so that connects reach the chosen one.',
      }),
    }
  },
}

/** The steps, in the order they run. */
export const DOCTOR_STEPS: readonly DoctorStep[] = [configuration, dns, tcp, tlsRequest, tlsHandshake, plaintextProbe, authentication, server, hosts]
