// npm run demo: starts an embedded PostgreSQL 18 that poses as an Azure server (TLS with a throwaway
// CA), then shows what azure-pg-tls does: a verified connection, and three refusals.
import type { TLSSocket, PeerCertificate, DetailedPeerCertificate } from 'node:tls'
import type pg from 'pg'
import { createAzurePgClient, AzurePgError, type AzurePgOptions } from 'azure-pg-tls'
import { AZURE_HOST, LOGINS, startLab } from '../lab/lab.js'
import { startCountingListener } from '../lab/counting-listener.js'

const line = (mark: string, text: string): void => console.log(`${mark} ${text}`)

function chainOf(socket: TLSSocket): string[] {
  const out: string[] = []
  let cert: DetailedPeerCertificate | PeerCertificate | undefined = socket.getPeerCertificate(true)
  const seen = new Set<string>()
  while (cert !== undefined && 'subject' in cert && cert.subject !== undefined && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256)
    const san = cert.subjectaltname === undefined ? '' : `, ${cert.subjectaltname}`
    out.push(`${cert.subject.CN ?? '?'} (issuer ${cert.issuer.CN ?? '?'}, until ${cert.valid_to}${san})`)
    cert = 'issuerCertificate' in cert ? cert.issuerCertificate : undefined
  }
  return out
}

async function refusal(title: string, attempt: () => Promise<unknown>): Promise<boolean> {
  try {
    await attempt()
    line('✗', `${title}: connected, which must never happen`)
    return false
  } catch (err) {
    if (!(err instanceof AzurePgError)) throw err
    line('✓', `${title}: refused with ${err.code}${err.reason === undefined ? '' : ` (${err.reason})`}`)
    console.log(`    ${err.message}`)
    console.log(`    fix: ${err.hint}`)
    return true
  }
}

console.log('azure-pg-tls demo: an embedded PostgreSQL 18 posing as', AZURE_HOST)
const lab = await startLab(['good', 'impostor', 'wrongName'])
let ok = true
try {
  const base: AzurePgOptions = {
    host: AZURE_HOST, hostaddr: '127.0.0.1', database: 'postgres', user: 'myadmin', password: LOGINS.single.password,
    serverType: 'single', sslrootcert: lab.rootPath, env: {},
  }
  console.log(`(the lab's own root CA stands in for Azure's DigiCert/Microsoft roots: sslrootcert=${lab.rootPath})\n`)

  const client = await createAzurePgClient({ ...base, port: lab.server('good').port })
  await client.connect()
  const socket = (client as unknown as { connection: { stream: TLSSocket } }).connection.stream
  const { rows } = await client.query<{ current_user: string; version: string; cipher: string }>(
    'SELECT current_user, s.version, s.cipher FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')
  const row = rows[0]
  line('✓', `verified connection as ${row?.current_user ?? '?'} (user "myadmin" sent as user@server for Single Server)`)
  console.log(`    TLS ${row?.version ?? '?'}, cipher ${row?.cipher ?? '?'}, host name and chain verified (rejectUnauthorized: true)`)
  for (const [i, c] of chainOf(socket).entries()) console.log(`    chain[${i}] ${c}`)
  await (client as pg.Client).end()

  const listener = await startCountingListener()
  ok = await refusal('sslmode=disable', () => createAzurePgClient({ ...base, port: listener.port, sslmode: 'disable' }).then((c) => c.connect())) && ok
  console.log(`    connections opened to the server: ${listener.connections()}`)
  ok = listener.connections() === 0 && ok
  await listener.close()
  ok = await refusal('impostor server (certificate from another CA)', () =>
    createAzurePgClient({ ...base, port: lab.server('impostor').port }).then((c) => c.connect())) && ok
  ok = await refusal('wrong host name (certificate for otherserver)', () =>
    createAzurePgClient({ ...base, port: lab.server('wrongName').port }).then((c) => c.connect())) && ok
} finally {
  await lab.stop()
}
console.log(ok ? '\nAll good: only the verified server was talked to.' : '\nSomething was not refused: see above.')
process.exitCode = ok ? 0 : 1
