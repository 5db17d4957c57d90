import type { X509Certificate } from 'node:crypto'
import type { Agent } from 'node:http'
import type { Socket } from 'node:net'
import type { MirrorCredentials } from '../config/mirror-url.js'
import { AzurePgError } from '../errors.js'
import type { FetchFunction, FetchResponse } from '../options.js'
import { PromiseMemo } from '../util/memo.js'
import { commonName, parseCertificates } from '../util/pem.js'
import type { AzureRoot } from './roots.js'

/** A root certificate is 1-2 KiB; anything past this is not one, so reading stops there. */
export const MAX_DOWNLOAD_BYTES = 64 * 1024
/** Redirects followed at most; a root is served directly by every known source. */
export const MAX_REDIRECTS = 3

/** What a download needs: the fetch to use (default node-fetch), the per-download time limit, a mirror. */
export interface DownloadSettings {
  readonly fetch: FetchFunction | undefined
  readonly timeoutMs: number
  /** The mirror's base URL, without user info. */
  readonly mirror: string | undefined
  /** Credentials for the mirror's origin (never for another origin). */
  readonly mirrorCredentials?: MirrorCredentials | undefined
}

/** How a download runs. */
export interface DownloadMode {
  /** A background refresh: its time limit does not keep the process alive by itself. */
  readonly background?: boolean
}

/** What replaces a text that contains the mirror's credentials: the whole text, never an edited copy. */
const WITHHELD = 'the error text is withheld because it contains the mirror credentials'

/** A text fit to show: as it is, or replaced as a whole when it contains the credentials. */
function safeText(text: string, credentials: MirrorCredentials | undefined): string {
  return credentials?.appearsIn(text) === true ? WITHHELD : text
}

/**
 * A copy of an error (and its causes) fit to keep as `cause`: each message as it is or withheld as a
 * whole, the name, code and stack frames kept, every other property dropped (an HTTP client may hang a
 * request, with its headers, on its errors). Without credentials the error is kept as it is.
 */
export function scrubError(err: unknown, credentials: MirrorCredentials | undefined, depth = 0): unknown {
  if (credentials === undefined) return err
  if (depth > 4 || err === undefined || err === null) return undefined
  if (!(err instanceof Error)) return new Error(safeText(String(err), credentials))
  const message = safeText(err.message, credentials)
  const inner = scrubError((err as { cause?: unknown }).cause, credentials, depth + 1)
  const copy = new Error(message, inner === undefined ? undefined : { cause: inner })
  copy.name = safeText(err.name, credentials)
  const code = (err as NodeJS.ErrnoException).code
  if (typeof code === 'string') Object.assign(copy, { code: safeText(code, credentials) })
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !credentials.appearsIn(l))
  copy.stack = [`${copy.name}: ${message}`, ...frames].join('\n')
  return copy
}

/**
 * Where a root is downloaded from: its official URL, or `<mirror>/<last path segment of the official
 * URL>` with the segment's percent-encoding kept as it is.
 */
export function downloadUrl(root: AzureRoot, mirror: string | undefined): string {
  if (mirror === undefined) return root.url
  return `${mirror.replace(/\/+$/, '')}/${root.url.slice(root.url.lastIndexOf('/') + 1)}`
}

/** A URL without user info, for messages. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.username === '' && u.password === '') return url
    u.username = ''
    u.password = ''
    return u.href
  } catch {
    // Not a URL: drop everything up to the last "@" before the path, which is where user info would be.
    return url.replace(/^(\w+:\/\/)[^/]*@/, '$1')
  }
}

/** A redirect target without user info: credentials are never taken from a Location header. */
function withoutUserInfo(url: URL): URL {
  const copy = new URL(url.href)
  copy.username = ''
  copy.password = ''
  return copy
}

function failed(root: AzureRoot, url: string, why: string, cause?: unknown): AzurePgError {
  return new AzurePgError('CERT_UNAVAILABLE', `Downloading ${root.name} from ${displayUrl(url)} failed: ${why}.`, {
    hint: 'Check network access to the URL, or set AZURE_PG_TLS_CERT_MIRROR to an internal mirror; the bundled copy is used meanwhile unless certs.source is "download".',
    cause,
  })
}

const nodeFetch = new PromiseMemo<'node-fetch', FetchFunction>()

/** node-fetch is loaded on the first download only: most processes never download anything. */
function defaultFetch(): Promise<FetchFunction> {
  return nodeFetch.get('node-fetch', async () => (await import('node-fetch')).default as unknown as FetchFunction)
}

const agents = new PromiseMemo<'agents', (url: URL) => Agent>()

/**
 * node-fetch's `agent` option for background downloads (a fetch the caller passes is used as it is): its
 * sockets do not keep the process alive, so a process done with its work exits. node:http and node:https
 * are loaded here, with node-fetch, so that a process that never downloads never loads them.
 */
function backgroundAgent(): Promise<(url: URL) => Agent> {
  return agents.get('agents', async () => {
    const [{ default: http }, { default: https }] = await Promise.all([import('node:http'), import('node:https')])
    // any[]: the constructor type TypeScript requires of a mixin's base.
    const unref = <T extends new (...args: any[]) => Agent>(Base: T): T => class extends Base {
      override createConnection(...args: Parameters<Agent['createConnection']>): Socket {
        const socket = super.createConnection(...args) as Socket
        socket.unref()
        return socket
      }
    }
    const plain = new (unref(http.Agent))()
    const secure = new (unref(https.Agent))()
    return (url: URL) => (url.protocol === 'https:' ? secure : plain)
  })
}

async function discard(body: FetchResponse['body']): Promise<void> {
  if (body === null) return
  // Leaving the loop at once closes the stream instead of reading a body nobody wants.
  for await (const chunk of body) { void chunk; break }
}

async function readLimited(body: FetchResponse['body'], limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = []
  let size = 0
  if (body === null) return Buffer.alloc(0)
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk)
    size += buf.length
    if (size > limit) return 'too-large'
    chunks.push(buf)
  }
  return Buffer.concat(chunks)
}

/**
 * Checks downloaded bytes before anything trusts or caches them: exactly one X.509 certificate (PEM
 * or DER), a CA, whose SHA-256 is the root's pin. Returns it as PEM.
 */
export function verifyRootBytes(root: AzureRoot, bytes: Buffer, from: string): string {
  if (bytes.length === 0) throw failed(root, from, 'the body is empty')
  const text = bytes.toString('latin1')
  const hasPemHeader = text.includes('-----BEGIN CERTIFICATE-----')
  let certs: X509Certificate[]
  try {
    certs = parseCertificates(bytes)
  } catch (cause) {
    const what = hasPemHeader ? 'the PEM certificate is truncated or corrupt'
      : /^\s*</.test(text) ? 'the body is an HTML or XML page, not a certificate'
        : 'the body is not a certificate (truncated or corrupt DER)'
    throw failed(root, from, what, cause)
  }
  if (hasPemHeader && !text.includes('-----END CERTIFICATE-----')) throw failed(root, from, 'the PEM certificate is truncated')
  if (certs.length !== 1) throw failed(root, from, `expected one certificate, found ${certs.length}`)
  const cert = certs[0] as X509Certificate
  if (!cert.ca) throw failed(root, from, `${commonName(cert)} is not a CA certificate`)
  if (cert.fingerprint256 !== root.sha256) {
    throw new AzurePgError('CERT_PIN_MISMATCH',
      `The certificate downloaded from ${displayUrl(from)} for ${root.name} is ${commonName(cert)} with SHA-256 ${cert.fingerprint256}, not the pinned ${root.sha256}; it was not trusted or cached.`,
      { hint: 'The source served a different certificate: check the mirror\'s copy, or whether something intercepts the download.' })
  }
  return cert.toString()
}

/**
 * Downloads one Azure root and verifies it against its pin. At most {@link MAX_REDIRECTS} redirects,
 * never from https to http; at most {@link MAX_DOWNLOAD_BYTES} read; one time limit for the whole
 * exchange. Mirror credentials travel as an `Authorization` header to the mirror's origin only, never
 * inside a URL. Throws `CERT_UNAVAILABLE` or `CERT_PIN_MISMATCH`, whose texts never hold the credentials.
 */
export async function downloadRoot(root: AzureRoot, settings: DownloadSettings, mode: DownloadMode = {}): Promise<string> {
  const fetchImpl = settings.fetch ?? (await defaultFetch())
  // In the background nothing may hold the process open: the time limit is unref'd, and so are node-fetch's sockets.
  const extra = mode.background === true && settings.fetch === undefined ? { agent: await backgroundAgent() } : {}
  const credentials = settings.mirrorCredentials
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), settings.timeoutMs)
  if (mode.background === true) timer.unref()
  let url = displayUrl(downloadUrl(root, settings.mirror))
  try {
    for (let redirects = 0; ; redirects++) {
      const headers: Record<string, string> = { accept: 'application/x-pem-file, application/pkix-cert, application/x-x509-ca-cert, */*', 'user-agent': 'azure-pg-tls' }
      // Credentials go to the mirror's own origin only: a redirect elsewhere gets none (as browsers and curl do).
      const authorization = credentials?.headerFor(url)
      if (authorization !== undefined) headers['authorization'] = authorization
      const res = await fetchImpl(url, { signal: controller.signal, redirect: 'manual', headers, ...extra })
      if (res.status >= 300 && res.status < 400) {
        await discard(res.body)
        const location = res.headers.get('location')
        if (location === null) throw failed(root, url, `HTTP ${res.status} without a Location`)
        if (redirects >= MAX_REDIRECTS) throw failed(root, url, `more than ${MAX_REDIRECTS} redirects`)
        const next = withoutUserInfo(new URL(location, url))
        if (next.protocol !== 'https:' && next.protocol !== 'http:') throw failed(root, url, `a redirect to a ${next.protocol} URL`)
        if (url.startsWith('https:') && next.protocol === 'http:') throw failed(root, url, `a redirect from https to http (${displayUrl(next.href)}) was refused`)
        url = next.href
        continue
      }
      if (res.status < 200 || res.status > 299) {
        await discard(res.body)
        throw failed(root, url, `HTTP ${res.status}`)
      }
      let body: Buffer | 'too-large'
      try {
        body = await readLimited(res.body, MAX_DOWNLOAD_BYTES)
      } catch (err) {
        if (controller.signal.aborted) throw err
        throw failed(root, url, 'the body was cut short: the connection closed before its end', scrubError(err, credentials))
      }
      if (body === 'too-large') {
        throw failed(root, url, `the body is larger than ${MAX_DOWNLOAD_BYTES / 1024} KiB, which no root certificate is`)
      }
      return verifyRootBytes(root, body, url)
    }
  } catch (err) {
    if (err instanceof AzurePgError) throw err
    if (controller.signal.aborted) throw failed(root, url, `no complete answer within ${settings.timeoutMs} ms`, scrubError(err, credentials))
    throw failed(root, url, safeText(err instanceof Error ? err.message : String(err), credentials), scrubError(err, credentials))
  } finally {
    clearTimeout(timer)
  }
}
