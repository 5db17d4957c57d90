import { X509Certificate } from 'node:crypto'
import { isIP, type Socket } from 'node:net'
import { checkServerIdentity, rootCertificates } from 'node:tls'
import type pg from 'pg'
import { createAzurePgClient } from '../client.js'
import { resolveSettings, type ResolvedSettings } from '../config/resolve.js'
import { explainConnectError, type ConnectContext } from '../error-map.js'
import { AzurePgError } from '../errors.js'
import { silentLogger } from '../log.js'
import type { AzurePgOptions } from '../options.js'
import { resolveCertsSettings } from '../trust/certs-options.js'
import { commonName, parseCertificates } from '../trust/pem.js'
import { AZURE_ROOTS } from '../trust/roots.js'
import { readBundledRoot } from '../trust/store.js'
import { loadTrustAnchors, type TrustAnchors } from '../trust/trust-anchors.js'
import { peerChain, rootVerdict, type CandidateRoot } from './chain.js'
import { incompleteChainVerdict } from './incomplete-chain.js'
import { askForTls, inspectTls, openTcp, resolveAddresses, type AddressLookup, type HandshakeResult } from './probe.js'

/** The doctor's steps, in the order they run. */
export type StepName = 'configuration' | 'dns' | 'tcp' | 'tls-request' | 'tls-handshake' | 'authentication' | 'server'

/** One step's outcome. `fix` comes from the same error-to-fix table as `AzurePgError.hint`. */
export interface StepResult {
  readonly step: StepName
  readonly status: 'pass' | 'fail' | 'skip'
  /** One line: the figure that matters. */
  readonly summary: string
  readonly details: readonly string[]
  /** Stable code of the failure (an AzurePgError code). */
  readonly code?: string
  /** Why it failed, in one line. */
  readonly reason?: string
  /** What to do. */
  readonly fix?: string
  readonly ms?: number
}

/** The whole check: `ok` when no step failed. */
export interface DoctorReport {
  readonly ok: boolean
  readonly steps: readonly StepResult[]
}

/** What to check and how. */
export interface DoctorInput {
  /** What to connect with; a login (steps 6 and 7) is tried when it holds a password or `entra`. */
  readonly options: AzurePgOptions
  readonly timeoutMs: number
  /** How host names are resolved; the system resolver by default (the seam for DNS tests). */
  readonly lookup?: AddressLookup
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

function serverKind(settings: ResolvedSettings): string {
  const { azure } = settings
  if (azure === undefined) return settings.serverName === undefined ? 'not an Azure PostgreSQL host name' : `custom name for Azure server "${settings.serverName}"`
  const cloud = { public: 'public cloud', usgov: 'US Government', china: 'Azure China' }[azure.cloud]
  if (azure.service === 'cosmos') return `Azure Cosmos DB for PostgreSQL (${cloud})`
  const kind = settings.serverType === 'auto' ? 'Single or Flexible Server: the name cannot tell; Flexible naming is used' : `${settings.serverType === 'single' ? 'Single' : 'Flexible'} Server`
  return `Azure Database for PostgreSQL, ${cloud}, server "${azure.serverName ?? '?'}"${azure.privateLink ? ' via a private DNS zone' : ''} (${kind})`
}

function isPrivateAddress(a: string): boolean {
  return /^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|127\.|169\.254\.|fc|fd|::1$)/i.test(a)
}

async function candidateRoots(anchors: TrustAnchors): Promise<CandidateRoot[]> {
  const out: CandidateRoot[] = []
  const trust = Array.isArray(anchors.ca) ? anchors.ca : [anchors.ca]
  for (const item of trust) {
    try {
      for (const cert of parseCertificates(typeof item === 'string' || Buffer.isBuffer(item) ? item : Buffer.from(item as Uint8Array))) {
        out.push({ name: commonName(cert), where: 'trust set', cert })
      }
    } catch {
      // An unparsable entry in ssl.ca cannot vouch for anything.
    }
  }
  for (const root of AZURE_ROOTS.filter((r) => r.trustedByDefault)) {
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
    const { fix, code } = explained(identity ?? Object.assign(new Error('altnames'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), ctx)
    const names = entries[0]?.altNames?.replace(/DNS:/g, '') ?? entries[0]?.subject ?? '?'
    return fail('tls-handshake', 'certificate is for another host name', { code, reason: `the certificate is for ${names}, you connected to ${host}`, fix }, details)
  }
  if (!hs.authorized) {
    const code = hs.authorizationError ?? 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
    const { fix, code: errorCode } = explained(Object.assign(new Error(code), { code }), ctx)
    const reason = code === 'CERT_HAS_EXPIRED' ? `a certificate in the chain has expired (the server's is valid until ${entries[0]?.notAfter ?? '?'})`
      : code === 'CERT_NOT_YET_VALID' ? `a certificate in the chain is not valid yet (from ${leaf?.validFrom ?? '?'})`
        : incompleteChainVerdict({ errorCode: code, sent: certs, candidates, trustDescription: ctx.trust }) ?? verdict
    return fail('tls-handshake', `certificate not trusted (${code})`, { code: errorCode, reason, fix }, details)
  }
  return pass('tls-handshake', `${hs.protocol}, verified: ${verdict}`, details, hs.ms)
}

/**
 * Runs the checks in order (configuration, DNS, TCP, TLS request, TLS handshake, authentication,
 * server) and stops at the first failure. Never includes a password or token in its report.
 */
export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const steps: StepResult[] = []
  const done = (): DoctorReport => ({ ok: steps.every((s) => s.status !== 'fail'), steps })
  const { options, timeoutMs } = input
  const env = options.env ?? process.env
  const now = options.now ?? (() => new Date())

  // 1. configuration
  let settings: ResolvedSettings
  let anchors: TrustAnchors
  try {
    settings = resolveSettings(options, env)
    anchors = await loadTrustAnchors(settings.tls.trust, { logger: options.logger ?? silentLogger, now, certs: resolveCertsSettings(options.certs, env) })
  } catch (err) {
    if (!(err instanceof AzurePgError)) throw err
    steps.push(fail('configuration', err.code === 'INSECURE_TLS' ? 'insecure setting refused' : 'configuration not usable', { code: err.code, reason: err.message, fix: err.hint }))
    return done()
  }
  const { host, port } = settings
  const user = settings.user ?? '(from the Entra ID token)'
  const ctx: ConnectContext = { host, connectHost: settings.connectHost, port, user, serverType: settings.serverType, trust: anchors.description, entra: settings.entraScope !== undefined }
  steps.push(pass('configuration', `${host}:${port} as ${user}`, [
    serverKind(settings),
    ...settings.warnings.map((w) => `note: ${w}`),
    `sslmode ${settings.tls.requestedMode}${settings.tls.strengthened ? ' (raised to verify-full)' : ''}, trust: ${anchors.description}`,
    ...(settings.connectHost !== host ? [`hostaddr ${settings.connectHost}: connecting there, verifying the certificate for ${host}`] : []),
    ...(settings.entraScope !== undefined ? [`Entra ID token scope ${settings.entraScope}`] : []),
  ]))

  // 2. DNS
  let address = settings.connectHost
  if (isIP(address) !== 0) {
    steps.push(pass('dns', settings.connectHost === host ? `${host} is an address: no lookup` : `hostaddr ${address} given: no lookup`))
  } else {
    try {
      const { addresses, ms } = await resolveAddresses(address, timeoutMs, input.lookup)
      address = addresses[0] ?? address
      const { azure } = settings
      const notes: string[] = []
      if (azure?.privateLink === true && addresses.some((a) => !isPrivateAddress(a))) notes.push('note: a private-endpoint name resolves to a public address: the private DNS zone is not linked to this network')
      if (azure !== undefined && !azure.privateLink && addresses.every(isPrivateAddress)) notes.push('note: resolves to a private address: a private endpoint or VNet integration answers for this name')
      steps.push(pass('dns', `${addresses.join(', ')} in ${ms} ms`, notes, ms))
    } catch (err) {
      steps.push(fail('dns', `cannot resolve ${address}`, explained(err, ctx)))
      return done()
    }
  }

  // 3. TCP, 4. TLS request, 5. TLS handshake
  const direct = settings.tls.sslnegotiation === 'direct'
  let socket: Socket | undefined
  try {
    let tcp: { socket: Socket; ms: number }
    try {
      tcp = await openTcp(address, port, timeoutMs)
    } catch (err) {
      steps.push(fail('tcp', `cannot connect to ${address}:${port}`, explained(err, ctx)))
      return done()
    }
    socket = tcp.socket
    steps.push(pass('tcp', `${address}:${port} in ${tcp.ms} ms`, [], tcp.ms))

    if (direct) {
      steps.push(pass('tls-request', 'direct TLS requested (sslnegotiation=direct): no SSLRequest, ALPN "postgresql"'))
    } else {
      let answer: { answer: string; ms: number }
      try {
        answer = await askForTls(socket, timeoutMs)
      } catch (err) {
        steps.push(fail('tls-request', 'no answer to the TLS request', explained(err, ctx)))
        return done()
      }
      if (answer.answer === 'N') {
        steps.push(fail('tls-request', 'server answered N: TLS not offered', explained(new Error('The server does not support SSL connections'), ctx)))
        return done()
      }
      if (answer.answer !== 'S') {
        steps.push(fail('tls-request', `server answered ${answer.answer}, neither S nor N`, explained(new Error('There was an error establishing an SSL connection'), ctx)))
        return done()
      }
      steps.push(pass('tls-request', `server answered S (TLS offered) in ${answer.ms} ms`, [], answer.ms))
    }

    const servername = isIP(host) === 0 ? host : undefined
    let hs: HandshakeResult
    try {
      // On a fresh socket (direct), the handshake starts at once; after `S`, it follows the SSLRequest.
      hs = await inspectTls(socket, { servername, ca: anchors.ca, timeoutMs, ...(direct && { alpn: ['postgresql'] }) })
    } catch (err) {
      const e = explained(err, ctx)
      steps.push(fail('tls-handshake', direct ? 'direct TLS failed' : 'TLS handshake failed', direct
        ? { ...e, fix: 'The server may not accept direct TLS: use sslnegotiation=postgres (the default).' }
        : e))
      return done()
    }
    const verdict = handshakeStep(hs, host, ctx, await candidateRoots(anchors))
    steps.push(verdict)
    if (verdict.status === 'fail') return done()
  } finally {
    socket?.destroy()
  }

  // 6. authentication, 7. server
  // Credentials are given when the resolved settings carry a password (option, string, PGPASSWORD) or Entra.
  if (settings.password === undefined && settings.entraScope === undefined) {
    steps.push({ step: 'authentication', status: 'skip', summary: 'no credentials given: pass --password-stdin, set PGPASSWORD, or --entra to test the login', details: [] })
    return done()
  }
  let client: pg.Client
  try {
    client = await createAzurePgClient({ ...options, logger: options.logger ?? silentLogger })
    await client.connect()
  } catch (err) {
    const e = err instanceof AzurePgError ? err : explainConnectError(err, ctx)
    steps.push(fail('authentication', `login as ${user} refused`, { code: e.code, reason: e.message, fix: e.hint }))
    return done()
  }
  try {
    const r = await client.query<{ who: string; version: string; ssl: boolean; tls: string; cipher: string; rst: string | null }>(
      `SELECT current_user AS who, current_setting('server_version') AS version, s.ssl, s.version AS tls, s.cipher,
              current_setting('require_secure_transport', true) AS rst
         FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()`)
    const row = r.rows[0]
    steps.push(pass('authentication', `logged in as ${row?.who ?? user}`))
    steps.push(pass('server', `PostgreSQL ${row?.version ?? '?'}, ssl ${String(row?.ssl)}, ${row?.tls ?? '?'}`, [
      row?.rst === null || row?.rst === undefined
        ? 'require_secure_transport: not visible (not an Azure server, or not exposed to this role)'
        : `require_secure_transport: ${row.rst}${row.rst === 'on' ? '' : ' — Azure advises on'}`,
      `cipher ${row?.cipher ?? '?'}`,
    ]))
  } finally {
    await client.end()
  }
  return done()
}

