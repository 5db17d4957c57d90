// A certificate mirror URL may carry credentials (`https://user:pass@pki.internal/azure/`). They are taken
// out of the URL here, once, so that no later step can print them or hand them to fetch inside a URL
// (node-fetch echoes such a URL in its error text).
import { createHash } from 'node:crypto'
import { inspect } from 'node:util'
import { invalidConfig } from '../errors.js'

/**
 * The credentials of a mirror: sent as `Authorization: Basic …` to the mirror's origin only. The values
 * live in private fields, so `util.inspect`, `JSON.stringify` and logging of settings never show them.
 */
export class MirrorCredentials {
  /** `scheme://host:port` of the mirror: the only origin the credentials are sent to. */
  readonly origin: string
  readonly #header: string
  #fingerprint: string | undefined
  readonly #secrets: readonly string[]

  constructor(origin: string, user: string, password: string, rawUser: string, rawPassword: string) {
    this.origin = origin
    this.#header = `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
    // With a password, the user name is an identity rather than a secret; with none (a token as the
    // user, `https://token@host/`), the user name is the secret.
    const parts = password === '' ? [user, rawUser] : [password, rawPassword, `${user}:${password}`, `${rawUser}:${rawPassword}`]
    this.#secrets = [...new Set([...parts, this.#header.slice('Basic '.length)].filter((s) => s !== ''))]
  }

  /** The `Authorization` header value for a request to `url`, or undefined when `url` is on another origin. */
  headerFor(url: string): string | undefined {
    let origin: string
    try {
      origin = new URL(url).origin
    } catch {
      return undefined
    }
    return origin === this.origin ? this.#header : undefined
  }

  /** True when a text contains any form of the credentials; such a text is replaced as a whole, never shown. */
  appearsIn(text: string): boolean {
    return this.#secrets.some((s) => text.includes(s))
  }

  /** A digest that tells two credentials apart (for in-memory keys), revealing nothing usable. */
  fingerprint(): string {
    // Part of the trust store's memo key, asked for on every prepare: computed once.
    this.#fingerprint ??= createHash('sha256').update(this.#header).digest('hex').slice(0, 16)
    return this.#fingerprint
  }

  /** Never shows the credentials. */
  toJSON(): string {
    return '[mirror credentials]'
  }

  /** Never shows the credentials. */
  [inspect.custom](): string {
    return `MirrorCredentials { origin: '${this.origin}', values: [hidden] }`
  }
}

/** A mirror URL taken apart: the URL without user info, and the credentials it carried. */
export interface ParsedMirror {
  readonly url: string
  readonly credentials: MirrorCredentials | undefined
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/**
 * Parses `certs.mirror`. Messages name where it came from and never echo the value: it may hold a
 * password. A value that carries an `@` that is not cleanly the user-info separator (an unencoded `/`,
 * `?` or `#` in a password) is refused rather than guessed at, since the guess would turn part of the
 * password into a host or a path that then appears in messages.
 */
export function parseMirror(raw: string, origin: string): ParsedMirror {
  const hint = 'Use the base URL of the mirror, e.g. https://pki.example.internal/azure-roots/; percent-encode reserved characters (/ ? # @ :) in a user name or password.'
  if (!/^https?:\/\/[^/]/i.test(raw)) throw invalidConfig(`certs.mirror (from ${origin}) is not an http(s) URL.`, hint)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    // No cause: the URL parser's error carries the input.
    throw invalidConfig(`certs.mirror (from ${origin}) is not a valid URL.`, hint)
  }
  if (url.hostname === '') throw invalidConfig(`certs.mirror (from ${origin}) has no host.`, hint)
  const hasUserInfo = url.username !== '' || url.password !== ''
  if (!hasUserInfo) {
    if (raw.includes('@')) throw invalidConfig(`certs.mirror (from ${origin}) holds an "@" outside the user-info part.`, hint)
    return { url: raw, credentials: undefined }
  }
  const rawUser = url.username
  const rawPassword = url.password
  const credentials = new MirrorCredentials(url.origin, decode(rawUser), decode(rawPassword), rawUser, rawPassword)
  url.username = ''
  url.password = ''
  return { url: url.href, credentials }
}
