// Real HTTP(S) servers on 127.0.0.1 that serve Azure's root files the way a mirror (or a broken one) does.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { AZURE_ROOTS } from '../src/index.js'

/** How the mirror answers. */
export type MirrorBehaviour =
  | 'good' | '404' | '500' | 'slow' | 'huge' | 'truncated' | 'truncatedPem' | 'html' | 'empty'
  | 'redirectLoop' | 'redirectOk' | 'redirectToHttp' | 'redirectAway' | 'redirectNoLocation' | 'redirectToFtp' | 'wrongCert' | 'notCa'
  | 'twoCerts' | 'endless'

/** What `endless` sends at most before it stalls (without ending): far more than any client should read. */
export const ENDLESS_STALL_BYTES = 32 * 1024 * 1024

export interface Mirror {
  readonly url: string
  behaviour: MirrorBehaviour
  /** Where `redirectToHttp` and `redirectAway` (another origin) send clients. */
  httpTarget: string
  /** Requests received, by path. */
  readonly requests: Map<string, number>
  /** The Authorization header of every request received, in order (undefined when absent). */
  readonly authorizations: Array<string | undefined>
  /** Resolves once {@link total} reaches `n` (bounded by the caller's test timeout). */
  waitForRequests(n: number): Promise<void>
  /** Requests `slow` is holding without an answer. */
  stalled(): number
  /** Ends every held request by destroying its connection, as a dropped network would. */
  releaseStalled(): void
  total(): number
  /** Responses whose body the client stopped reading before the end, since the last reset. */
  abandoned(): number
  /**
   * Resolves when the client hangs up on a response to `path` before its end, with the body bytes
   * written to that response by then; rejects after `timeoutMs`.
   */
  whenAbandoned(path: string, timeoutMs?: number): Promise<{ bytesWritten: number }>
  /** Back to `good`, with no requests and no abandoned responses counted (call between tests). */
  reset(): void
  close(): Promise<void>
}

const certsDir = new URL('../certs/', import.meta.url)
const baltimore = readFileSync(new URL('../test/fixtures/BaltimoreCyberTrustRoot.crt.pem', import.meta.url))

/** The official file of each default root, keyed by the last path segment of its URL, in its official format. */
export function officialFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  // Every root the package bundles (certs.roots 'all' included), in its official format.
  for (const root of AZURE_ROOTS.filter((r) => r.trustedWithAll)) {
    const pem = readFileSync(new URL(`${root.id}.pem`, certsDir))
    const body = root.format === 'DER' ? new X509Certificate(pem).raw : pem
    files.set(root.url.slice(root.url.lastIndexOf('/')), body)
  }
  return files
}

export interface MirrorOptions {
  readonly behaviour?: MirrorBehaviour
  /** Serve over TLS with this certificate (for the https-to-http redirect case). */
  readonly tls?: { cert: string; key: string }
  /** Require HTTP Basic authorization with these credentials: 401 without them, as a protected mirror does. */
  readonly auth?: { readonly user: string; readonly password: string }
}

export async function startMirror(options: MirrorOptions = {}): Promise<Mirror> {
  const files = officialFiles()
  const requests = new Map<string, number>()
  const authorizations: Array<string | undefined> = []
  const held = new Set<http.ServerResponse>()
  const waiters: Array<{ n: number; resolve: () => void }> = []
  let abandoned = 0
  const abandonedPaths = new Map<string, number>()
  const abandonWaiters = new Map<string, Array<(bytesWritten: number) => void>>()
  const total = (): number => [...requests.values()].reduce((a, b) => a + b, 0)
  const state = { behaviour: options.behaviour ?? 'good', httpTarget: '' }
  const expectedAuth = options.auth === undefined ? undefined
    : `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}`

  const handler: http.RequestListener = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    requests.set(path, (requests.get(path) ?? 0) + 1)
    authorizations.push(req.headers.authorization)
    for (const w of waiters.filter((x) => total() >= x.n)) { waiters.splice(waiters.indexOf(w), 1); w.resolve() }
    const file = files.get(path.replace(/^\/hop\d/, ''))
    let bodyBytes = 0
    const write = res.write.bind(res) as (chunk: Buffer) => boolean
    const count = (chunk: Buffer): boolean => { bodyBytes += chunk.length; return write(chunk) }
    res.on('close', () => {
      held.delete(res)
      if (res.writableFinished) return
      abandoned++
      abandonedPaths.set(path, bodyBytes)
      for (const wake of abandonWaiters.get(path) ?? []) wake(bodyBytes)
      abandonWaiters.delete(path)
    })
    if (expectedAuth !== undefined && req.headers.authorization !== expectedAuth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="pki"', 'content-type': 'text/plain' }).end('Unauthorized')
      return
    }
    switch (state.behaviour) {
      case 'good':
        if (file === undefined) { res.writeHead(404).end('not found'); return }
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.length }).end(file)
        return
      case '404': res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found'); return
      case '500': res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error'); return
      case 'slow': held.add(res); return // never answers
      case 'empty': res.writeHead(200, { 'content-length': 0 }).end(); return
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>')
        return
      case 'huge': {
        const chunk = Buffer.alloc(64 * 1024, 0x41)
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 10 * 1024 * 1024 })
        let sent = 0
        const pump = (): void => {
          while (sent < 160 && !res.destroyed) {
            sent++
            if (!count(chunk)) { res.once('drain', pump); return }
          }
          if (!res.destroyed) res.end()
        }
        pump()
        return
      }
      case 'endless': {
        // A body with no length that goes on for as long as the client reads (chunked); past
        // ENDLESS_STALL_BYTES it stops sending but never ends, so a client that waits for the end hangs.
        const chunk = Buffer.alloc(64 * 1024, 0x41)
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
        const pump = (): void => {
          while (!res.destroyed && bodyBytes < ENDLESS_STALL_BYTES) {
            if (!count(chunk)) { res.once('drain', pump); return }
          }
        }
        pump()
        return
      }
      case 'truncated': {
        const body = file ?? Buffer.alloc(0)
        res.writeHead(200, { 'content-length': body.length })
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy())
        return
      }
      case 'truncatedPem': {
        const pem = readFileSync(new URL('digicert-global-root-g2.pem', certsDir)).subarray(0, 700)
        res.writeHead(200, { 'content-length': pem.length }).end(pem)
        return
      }
      case 'redirectLoop': res.writeHead(302, { location: path }).end(); return
      case 'redirectOk': {
        const hop = /^\/hop(\d)/.exec(path)
        const n = hop === null ? 0 : Number(hop[1])
        if (n >= 2 && file !== undefined) { res.writeHead(200).end(file); return }
        res.writeHead(301, { location: `/hop${n + 1}${path.replace(/^\/hop\d/, '')}` }).end()
        return
      }
      case 'redirectToHttp':
      case 'redirectAway': res.writeHead(302, { location: `${state.httpTarget}${path}` }).end(); return
      case 'redirectNoLocation': res.writeHead(302).end(); return
      case 'redirectToFtp': res.writeHead(301, { location: `ftp://127.0.0.1${path}` }).end(); return
      case 'twoCerts': {
        // The right root followed by another one: a body is one certificate, or it is refused.
        const g2 = readFileSync(new URL('digicert-global-root-g2.pem', certsDir))
        res.writeHead(200).end(Buffer.concat([g2, baltimore]))
        return
      }
      case 'wrongCert': res.writeHead(200).end(baltimore); return
      case 'notCa': res.writeHead(200).end(readFileSync(new URL('../test/fixtures/leaf-not-ca.pem', import.meta.url))); return
    }
  }

  const server = options.tls === undefined ? http.createServer(handler) : https.createServer(options.tls, handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    get behaviour() { return state.behaviour },
    set behaviour(b: MirrorBehaviour) { state.behaviour = b },
    get httpTarget() { return state.httpTarget },
    set httpTarget(t: string) { state.httpTarget = t },
    requests,
    authorizations,
    waitForRequests: (n) => new Promise<void>((resolve) => { if (total() >= n) resolve(); else waiters.push({ n, resolve }) }),
    stalled: () => held.size,
    releaseStalled: () => { for (const res of held) res.socket?.destroy() },
    total,
    abandoned: () => abandoned,
    whenAbandoned: (path, timeoutMs = 10_000) => {
      const done = abandonedPaths.get(path)
      if (done !== undefined) return Promise.resolve({ bytesWritten: done })
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the client did not hang up on ${path} within ${timeoutMs} ms`)), timeoutMs)
        abandonWaiters.set(path, [...(abandonWaiters.get(path) ?? []), (bytesWritten) => { clearTimeout(timer); resolve({ bytesWritten }) }])
      })
    },
    reset: () => {
      state.behaviour = 'good'
      requests.clear()
      authorizations.length = 0
      abandoned = 0
      abandonedPaths.clear()
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
