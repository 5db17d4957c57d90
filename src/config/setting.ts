/** Where a setting came from: an option, a connection-string key, an environment variable. */
export type SettingSource = 'option' | 'string' | 'env'

/** A configured value and where it came from, for messages (`environment variable PGSSLMODE`). */
export interface Setting<T = string> {
  readonly value: T
  /** Said in messages: `option "sslmode"`, `connection string key "Ssl Mode"`, `environment variable PGSSLMODE`. */
  readonly origin: string
  readonly source: SettingSource
}

/** True for the spellings of "true" that connection strings and environment variables use. */
export function isTruthy(value: string): boolean {
  return ['true', '1', 'yes', 'on'].includes(value.trim().toLowerCase())
}
