// The doctor's vocabulary: what it is asked, and what it reports.
import type { AzurePgOptions } from '../options.js'
import type { PlaintextVerdict } from './plaintext-probe.js'
import type { AddressLookup } from './probe.js'

/** The doctor's steps, in the order they run. */
export type StepName = 'configuration' | 'dns' | 'tcp' | 'tls-request' | 'tls-handshake' | 'plaintext-probe' | 'authentication' | 'server' | 'hosts'

/** One step's outcome. `fix` comes from the same error-to-fix table as `AzurePgError.hint`. */
export interface StepResult {
  readonly step: StepName
  /** `warn`: the check found something to fix that does not stop this client (the server accepts plaintext). */
  readonly status: 'pass' | 'warn' | 'fail' | 'skip'
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

/** The whole check: `ok` when no step failed (warnings do not count). */
export interface DoctorReport {
  readonly ok: boolean
  readonly steps: readonly StepResult[]
  /** Whether the server refuses plaintext logins, when the plaintext probe ran. */
  readonly plaintext?: PlaintextVerdict
}

/** What to check and how. */
export interface DoctorInput {
  /** What to connect with; a login (the authentication and server steps) is tried when it holds a password or `entra`. */
  readonly options: AzurePgOptions
  readonly timeoutMs: number
  /** How host names are resolved; the system resolver by default (the seam for DNS tests). */
  readonly lookup?: AddressLookup
  /** Run the plaintext probe (default true): one plaintext StartupMessage for a random user name. */
  readonly plaintextProbe?: boolean
  /** Called with each step's result as soon as it is known, so a terminal can show progress. */
  readonly onStep?: (result: StepResult) => void
}

