// `azure-pg-tls doctor` against real local servers: healthy, TLS off, unknown CA, wrong name, expired,
// nothing listening, garbage answer, wrong password, unknown user, and a chain missing its cross-certificate.
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createAzurePgClient, type AzurePgError } from '../../src/index.js'
import { rootVerdict, type CandidateRoot } from '../../src/doctor/chain.js'
import { runDoctor, type DoctorReport } from '../../src/doctor/run-doctor.js'
import { Resolver } from 'node:dns/promises'
import { startDnsServer } from '../../lab/dns-server.js'
import { createIntermediate, createRootCa, createRotatedChain, type RotatedChain } from '../../lab/pki.js'
import { removeTemplate, startPostgres, type RunningPostgres } from '../../lab/postgres-server.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { AZURE_HOST, LOGINS, createLogins, startLab, type Lab, type ServerKind } from '../../lab/lab.js'
import { incompleteChainVerdict } from '../../src/doctor/incomplete-chain.js'
import { assertAzureIdentityAbsent } from '../support/preconditions.js'
import { makeTempDir, removeTempDir } from '../../lab/temp-dir.js'
import { runCliCaptured } from '../support/cli.js'

let lab: Lab
let garbage: Server
let garbagePort: number

before(async () => {
  lab = await startLab(['good', 'impostor', 'wrongName', 'expired', 'tlsOff'])
  garbage = createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')))
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r))
  garbagePort = (garbage.address() as { port: number }).port
})
after(async () => {
  await new Promise((r) => garbage?.close(r))
  await lab?.stop()
})

const conninfo = (port: number, extra = ''): string =>
  `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${port} dbname=postgres user=myadmin sslrootcert=${lab.rootPath} ${extra}`.trim()

async function doctor(args: string[], opts: { password?: string; env?: Record<string, string>; color?: boolean } = {}): Promise<{ code: number; out: string; err: string }> {
  const { code, out, err } = await runCliCaptured(['doctor', ...args], {
    env: opts.env ?? {},
    ...(opts.password !== undefined && { stdin: async () => `${opts.password}\n` }),
    ...(opts.color !== undefined && { color: opts.color }),
  })
  return { code, out, err }
}

async function report(args: string[], opts: { password?: string; env?: Record<string, string> } = {}): Promise<{ code: number; report: DoctorReport; out: string }> {
  const r = await doctor([...args, '--json'], opts)
  return { code: r.code, report: JSON.parse(r.out) as DoctorReport, out: r.out }
}

const failing = (r: DoctorReport) => r.steps.find((s) => s.status === 'fail')

/** The hint connect() gives for the same server: the doctor's fix must be the same text (one table). */
async function connectHint(kind: ServerKind): Promise<string> {
  const client = await createAzurePgClient({ connectionString: conninfo(lab.server(kind).port), password: LOGINS.flexible.password, env: {} })
  try {
    await client.connect()
    await client.end()
    return ''
  } catch (e) {
    return (e as AzurePgError).hint
  }
}

describe('azure-pg-tls doctor', () => {
  it('healthy server with a password: all eight steps pass, exit 0', async () => {
    const { code, report: r, out } = await report([conninfo(lab.server('good').port), '--password-stdin'], { password: LOGINS.flexible.password })
    assert.equal(code, 0)
    assert.equal(r.ok, true)
    assert.deepEqual(r.steps.map((s) => [s.step, s.status]), [
      ['configuration', 'pass'], ['dns', 'pass'], ['tcp', 'pass'], ['tls-request', 'pass'],
      ['tls-handshake', 'pass'], ['plaintext-probe', 'pass'], ['authentication', 'pass'], ['server', 'pass'],
    ])
    const hs = r.steps[4]!
    assert.match(hs.summary, /^TLSv1\.[23], verified: chains to Lab Global Root G2, which the trust set holds$/)
    assert.ok(hs.details.some((d) => /^chain\[0\] mydemoserver\.postgres\.database\.azure\.com \(issuer Lab TLS RSA CA 2026, until .*DNS:mydemoserver/.test(d)))
    assert.equal(r.plaintext, 'enforced', 'the lab server is hostssl only')
    assert.match(r.steps[6]!.summary, /logged in as myadmin$/)
    assert.match(r.steps[7]!.summary, /^PostgreSQL 18\.\d+, ssl true, TLSv1\.[23]$/)
    assert.doesNotMatch(out, new RegExp(LOGINS.flexible.password))
  })

  it('direct TLS (sslnegotiation=direct): the handshake is made without an SSLRequest, with ALPN', async () => {
    const { code, report: r } = await report([conninfo(lab.server('good').port, 'sslnegotiation=direct')])
    assert.equal(code, 0)
    assert.match(r.steps[3]!.summary, /^direct TLS requested/)
    assert.ok(r.steps[4]!.details.some((d) => /ALPN postgresql/.test(d)), r.steps[4]!.details.join('\n'))
  })

  it('healthy server without credentials: the login is skipped, exit 0', async () => {
    const { code, report: r } = await report([conninfo(lab.server('good').port)])
    assert.equal(code, 0)
    assert.deepEqual(r.steps.slice(-1).map((s) => [s.step, s.status]), [['authentication', 'skip']])
  })

  it('TLS off: fails at the TLS request with the fix connect() gives', async () => {
    const { code, report: r } = await report([conninfo(lab.server('tlsOff').port)])
    assert.equal(code, 1)
    const f = failing(r)!
    assert.equal(f.step, 'tls-request')
    assert.equal(f.code, 'SERVER_REFUSED_TLS')
    assert.match(f.summary, /answered N/)
    assert.equal(f.fix, await connectHint('tlsOff'))
  })

  it('unknown CA: names the root the server chains to and that nobody trusts it', async () => {
    const { code, report: r } = await report([conninfo(lab.server('impostor').port)])
    assert.equal(code, 1)
    const f = failing(r)!
    assert.equal(f.step, 'tls-handshake')
    assert.equal(f.code, 'TLS_VERIFY_FAILED')
    // The impostor sends leaf + issuing CA, like a server that left out an intermediate: the doctor names
    // the missing issuer and both readings (src/doctor/incomplete-chain.ts).
    assert.match(f.reason ?? '', /^the server sent an incomplete chain: Impostor Issuing CA was issued by Impostor Root CA, which the server did not send\. Impostor Root CA is not in your trust set \(roots from .*lab-root\.pem\), not an Azure root, and not in Node's built-in store: .*if it is a root, this is not your Azure server/)
    assert.equal(f.fix, await connectHint('impostor'))
  })

  it('wrong host name: says whom the certificate is for', async () => {
    const { report: r } = await report([conninfo(lab.server('wrongName').port)])
    const f = failing(r)!
    assert.equal(f.step, 'tls-handshake')
    assert.equal(f.reason, `the certificate is for otherserver.postgres.database.azure.com, you connected to ${AZURE_HOST}`)
    assert.equal(f.fix, await connectHint('wrongName'))
  })

  it('expired certificate: says so, with the date', async () => {
    const { report: r } = await report([conninfo(lab.server('expired').port)])
    const f = failing(r)!
    assert.equal(f.step, 'tls-handshake')
    assert.match(f.summary, /CERT_HAS_EXPIRED/)
    assert.match(f.reason ?? '', /has expired \(the server's is valid until .* GMT\)/)
    assert.equal(f.fix, await connectHint('expired'))
  })

  it('nothing listening: DNS resolves localhost, TCP fails with a fix', async () => {
    const port = await refusingPort()
    const { code, report: r } = await report([`host=localhost port=${port} user=myadmin sslrootcert=${lab.rootPath}`])
    assert.equal(code, 1)
    assert.match(r.steps[1]!.summary, /127\.0\.0\.1/)
    const f = failing(r)!
    assert.equal(f.step, 'tcp')
    assert.equal(f.code, 'CONNECTION_FAILED')
    assert.match(f.reason ?? '', /ECONNREFUSED/)
    assert.match(f.fix ?? '', /host name, port/)
  })

  it('a TCP server answering the TLS request with garbage: not PostgreSQL', async () => {
    const { report: r } = await report([conninfo(garbagePort)])
    const f = failing(r)!
    assert.equal(f.step, 'tls-request')
    assert.match(f.summary, /answered 0x48, neither S nor N/)
    assert.match(f.reason ?? '', /does not look like PostgreSQL/)
  })

  it('wrong password: fails at authentication, never printing it', async () => {
    const secret = 'Doctor-Wrong-Pass-99'
    const text = await doctor([conninfo(lab.server('good').port), '--password-stdin'], { password: secret })
    assert.equal(text.code, 1)
    assert.match(text.out, /^✗ authentication  login as myadmin refused$/m)
    assert.match(text.out, /password authentication failed for user "myadmin"/)
    assert.doesNotMatch(text.out + text.err, new RegExp(secret))
    const viaEnv = await report([conninfo(lab.server('good').port)], { env: { PGPASSWORD: secret } })
    assert.equal(failing(viaEnv.report)?.code, 'AUTH_FAILED')
    assert.doesNotMatch(viaEnv.out, new RegExp(secret))
  })

  it('a user the server does not know: fails at authentication', async () => {
    const { report: r } = await report([conninfo(lab.server('good').port, 'user=ghost password=x')])
    const f = failing(r)!
    assert.equal(f.step, 'authentication')
    assert.equal(f.code, 'AUTH_FAILED')
  })

  it('an insecure setting: fails at configuration, with the secure equivalent', async () => {
    const { code, report: r } = await report([conninfo(lab.server('good').port, 'sslmode=disable')])
    assert.equal(code, 1)
    const f = failing(r)!
    assert.equal(f.step, 'configuration')
    assert.equal(f.code, 'INSECURE_TLS')
    assert.match(f.fix ?? '', /sslmode=verify-full/)
    assert.equal(r.steps.length, 1, 'no connection was attempted')
  })

  it('--entra without @azure/identity: fails at authentication naming the package', async () => {
    assertAzureIdentityAbsent()
    const { report: r } = await report([conninfo(lab.server('good').port), '--entra'])
    const f = failing(r)!
    assert.equal(f.step, 'authentication')
    assert.equal(f.code, 'ENTRA_UNAVAILABLE')
  })

  it('prints a checklist, in colour only when asked', async () => {
    const plain = await doctor([conninfo(lab.server('tlsOff').port)], { color: false })
    assert.match(plain.out, /^azure-pg-tls doctor$/m)
    assert.match(plain.out, /^✓ tcp {13}127\.0\.0\.1:\d+ in [\d.]+ ms$/m)
    assert.match(plain.out, /^✗ tls request {5}server answered N: TLS not offered$/m)
    assert.match(plain.out, /^ {4}fix: /m)
    assert.doesNotMatch(plain.out, /\u001b\[/)
    const coloured = await doctor([conninfo(lab.server('tlsOff').port)], { color: true })
    assert.match(coloured.out, /\u001b\[31m✗\u001b\[0m/)
  })

  it('exit 2 on bad usage', async () => {
    assert.equal((await doctor(['--nope'])).code, 2)
    assert.equal((await doctor([conninfo(1), 'extra'])).code, 2)
    assert.equal((await doctor([conninfo(1), '--entra', '--password-stdin'], { password: 'x' })).code, 2)
  })
})

describe('doctor DNS checks (a real DNS server on 127.0.0.1)', () => {
  it('notes a public name answering with a private address, and a private-endpoint name answering with a public one', async () => {
    const privateLinkName = 'mydemoserver.privatelink.postgres.database.azure.com'
    // 203.0.113.7 is a documentation address: it is only ever listed, never contacted (127.0.0.1 comes first).
    const dns = await startDnsServer({ [AZURE_HOST]: ['127.0.0.1'], [privateLinkName]: ['127.0.0.1', '203.0.113.7'] })
    const resolver = new Resolver()
    resolver.setServers([dns.address])
    const lookup = (host: string): Promise<string[]> => resolver.resolve4(host)
    try {
      const base = { env: {}, user: 'myadmin', sslrootcert: lab.rootPath, port: lab.server('good').port }
      const pub = await runDoctor({ options: { ...base, host: AZURE_HOST }, timeoutMs: 5000, lookup })
      assert.equal(pub.ok, true)
      assert.match(pub.steps[1]!.summary, /^127\.0\.0\.1 in [\d.]+ ms$/)
      assert.deepEqual(pub.steps[1]!.details, ['note: resolves to a private address: a private endpoint or VNet integration answers for this name'])

      const priv = await runDoctor({ options: { ...base, host: privateLinkName }, timeoutMs: 5000, lookup })
      assert.match(priv.steps[1]!.summary, /^127\.0\.0\.1, 203\.0\.113\.7 in/)
      assert.deepEqual(priv.steps[1]!.details, ['note: a private-endpoint name resolves to a public address: the private DNS zone is not linked to this network'])
      // Azure's certificates do not carry privatelink names: the handshake says so.
      const f = failing(priv)!
      assert.equal(f.step, 'tls-handshake')
      assert.match(f.reason ?? '', new RegExp(`you connected to ${privateLinkName.replace(/\./g, '\\.')}$`))

      const missing = await runDoctor({ options: { ...base, host: 'nosuch.postgres.database.azure.com' }, timeoutMs: 5000, lookup })
      assert.equal(failing(missing)?.step, 'dns')
      assert.equal(failing(missing)?.code, 'CONNECTION_FAILED')
    } finally {
      await dns.close()
    }
  })
})

describe('which root would have verified a chain', () => {
  it('names an Azure root the trust set lacks, a root only Node trusts, or none', async () => {
    const azureLike = await createRootCa('Pretend Azure Root')
    const inter = await createIntermediate(azureLike, 'Pretend Azure TLS CA')
    const top = new X509Certificate(inter.pem)
    const asCandidate = (where: CandidateRoot['where']): CandidateRoot => ({ name: 'Pretend Azure Root', where, cert: new X509Certificate(azureLike.pem) })
    assert.equal(rootVerdict(top, [asCandidate('azure')], 'roots from x.pem'),
      'this server chains to Pretend Azure Root, an Azure root which your trust set (roots from x.pem) lacks')
    assert.match(rootVerdict(top, [asCandidate('system')], 'Azure roots'), /in Node's built-in store but is not an Azure root/)
    assert.equal(rootVerdict(top, [asCandidate('trust set'), asCandidate('azure')], 't'), 'chains to Pretend Azure Root, which the trust set holds')
    const other = await createRootCa('Unrelated Root')
    assert.match(rootVerdict(top, [{ name: 'Unrelated Root', where: 'azure', cert: new X509Certificate(other.pem) }], 't'), /chains to "Pretend Azure Root", which is not in your trust set/)
  })
})

describe("doctor on Azure's rotated chain", () => {
  let chain: RotatedChain
  let dir: string
  let oldRootPath: string
  const servers: Partial<Record<'full' | 'withoutCross', RunningPostgres>> = {}

  before(async () => {
    chain = await createRotatedChain([AZURE_HOST])
    dir = await makeTempDir('doctor-rotated')
    oldRootPath = join(dir, 'old-root.pem')
    await writeFile(oldRootPath, chain.oldRoot.pem)
    for (const variant of ['full', 'withoutCross'] as const) {
      servers[variant] = await startPostgres({ tls: { certChainPem: chain.chains[variant], keyPem: chain.leaf.keyPem } })
      await createLogins(servers[variant])
    }
  })
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()))
    await removeTemplate()
    if (dir !== undefined) await removeTempDir(dir)
  })

  const rotatedConninfo = (variant: 'full' | 'withoutCross'): string =>
    `host=${AZURE_HOST} hostaddr=127.0.0.1 port=${servers[variant]?.port ?? 0} dbname=postgres user=myadmin sslrootcert=${oldRootPath}`

  it('cross-certificate omitted: "the server sent an incomplete chain", naming the missing issuer', async () => {
    const { code, report: r, out } = await report([rotatedConninfo('withoutCross')])
    assert.equal(code, 1)
    const f = failing(r)!
    assert.equal(f.step, 'tls-handshake')
    assert.equal(f.code, 'TLS_VERIFY_FAILED')
    assert.match(f.summary, /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/)
    assert.match(f.reason ?? '', /^the server sent an incomplete chain: Lab Microsoft TLS G2 RSA CA OCSP 02 was issued by Lab Microsoft TLS RSA Root G2, which the server did not send\./)
    assert.doesNotMatch(f.reason ?? '', /chains to "/, 'not the unknown-CA verdict')
    assert.ok(f.details.some((d) => /^chain\[1\] Lab Microsoft TLS G2 RSA CA OCSP 02 \(issuer Lab Microsoft TLS RSA Root G2/.test(d)), f.details.join('\n'))
    assert.match(out, /incomplete chain/)
  })

  it('full chain: verified through the cross-certificate to the trusted old root', async () => {
    const { code, report: r } = await report([rotatedConninfo('full'), '--password-stdin'], { password: LOGINS.flexible.password })
    assert.equal(code, 0)
    assert.match(r.steps[4]!.summary, /verified: chains to Lab DigiCert Global Root G2, which the trust set holds$/)
  })

  it('incompleteChainVerdict: only for an issuer-not-found error on a chain whose top no candidate issued', () => {
    const sent = [new X509Certificate(chain.leaf.leafPem), new X509Certificate(chain.issuing.pem)]
    const base = { errorCode: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', sent, candidates: [] as CandidateRoot[], trustDescription: 't' }
    assert.match(incompleteChainVerdict(base) ?? '', /^the server sent an incomplete chain: Lab Microsoft TLS G2 RSA CA OCSP 02 was issued by Lab Microsoft TLS RSA Root G2, which/)
    assert.equal(incompleteChainVerdict({ ...base, errorCode: 'CERT_HAS_EXPIRED' }), undefined, 'another kind of failure')
    assert.equal(incompleteChainVerdict({ ...base, errorCode: 'SELF_SIGNED_CERT_IN_CHAIN' }), undefined)
    const newRoot = { name: 'new', where: 'system' as const, cert: new X509Certificate(chain.newRoot.pem) }
    assert.equal(incompleteChainVerdict({ ...base, candidates: [newRoot] }), undefined, 'a known root issued the top: not incomplete')
    const selfSignedTop = [...sent, new X509Certificate(chain.newRoot.pem)]
    assert.equal(incompleteChainVerdict({ ...base, sent: selfSignedTop }), undefined, 'the server sent a root: nothing is missing')
    assert.equal(incompleteChainVerdict({ ...base, sent: [] }), undefined)
  })
})
