import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { AzurePgError } from '../errors.js'
import { resolveCertsSettings } from '../config/certs-settings.js'
import type { CertsOptions, FetchFunction, Logger, ServerType } from '../options.js'
import { runDoctor, type StepResult } from '../doctor/run-doctor.js'
import { certsBundle, certsFetch, certsStatus, type CommandIo } from './certs-command.js'
import { formatStep, formatVerdict, REPORT_TITLE } from './doctor-command.js'
import { packageRoot } from '../util/package-root.js'

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Uint8Array))
  return Buffer.concat(chunks).toString('utf8')
}


/** The process-facing parts of the command line: output, environment and the seams tests replace. */
export interface CliContext {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly env: Readonly<Record<string, string | undefined>>
  readonly now?: () => Date
  readonly fetch?: FetchFunction
  /** Reads all of standard input (for --password-stdin). */
  readonly stdin?: () => Promise<string>
  /** Colour the doctor's checklist (stdout is a TTY and NO_COLOR is unset). */
  readonly color?: boolean
}

/** The certificate options, the same in the main help and in `certs --help`. */
const CERTS_OPTIONS = `  --cache-dir DIR   cache folder      (AZURE_PG_TLS_CACHE_DIR; default $XDG_CACHE_HOME/azure-pg-tls or ~/.cache/azure-pg-tls)
  --mirror URL      internal mirror   (AZURE_PG_TLS_CERT_MIRROR): each root is fetched from URL/<official file name>
  --offline         never use the network (AZURE_PG_TLS_OFFLINE=1)
  --source S        auto | download | bundled, for bundle (AZURE_PG_TLS_CERT_SOURCE)
  --timeout MS      per-download time limit (default 5000)`

const HELP = `azure-pg-tls: verified TLS for Azure Database for PostgreSQL

Usage:
  azure-pg-tls certs status [--json]         which Azure roots are available, from where, until when
  azure-pg-tls certs fetch [--json]          download every Azure root, verify its pin, cache it
  azure-pg-tls certs bundle [--out FILE]     the combined PEM (for psql's sslrootcert, JDBC, ...)
  azure-pg-tls doctor [CONNECTION STRING]    why a connection fails, step by step, and how to fix it
                                             (also reads PGHOST, PGUSER, ... like the library)

Options:
${CERTS_OPTIONS}
  --json            machine-readable output (status, fetch, doctor)
  --password-stdin  doctor: read the password from standard input and test the login
  --entra           doctor: log in with a Microsoft Entra ID token (needs @azure/identity)
  --server-type T   doctor: auto | single | flexible (AZURE_PG_TLS_SERVER_TYPE)
  --no-plaintext-probe  doctor: skip the check whether the server accepts plaintext logins
  -h, --help        this help; \`doctor --help\` and \`certs --help\` for each command
  -v, --version     the version of azure-pg-tls

Exit codes: 0 success, 1 a failed check or download, 2 bad usage.`

const DOCTOR_HELP = `azure-pg-tls doctor: why a connection to Azure Database for PostgreSQL fails, and how to fix it

Usage:
  azure-pg-tls doctor [CONNECTION STRING] [options]

Runs configuration, dns, tcp, tls request, tls handshake, plaintext probe, authentication (only with
credentials) and server checks in order, and stops at the first failure with the fix. The plaintext probe
asks, on a separate connection and for a random user name (never yours, never a password), whether the
server accepts logins without TLS; it warns with the command that turns enforcement on if it does. The
authentication check says which method the server asked for and whether channel binding was used, warns about
MD5, cleartext and unauthenticated logins, and suggests require_auth=scram-sha-256 and channel_binding=require
where the server supports them. The connection string may be a URI, libpq key=value, ADO.NET or JDBC; PGHOST,
PGPORT, PGUSER, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGHOSTADDR, PGCHANNELBINDING, PGREQUIREAUTH and
AZURE_PG_TLS_* are read as the library reads them. Passwords and tokens are never printed.

Options:
  --password-stdin  read the password from standard input and test the login (or PGPASSWORD)
  --entra           log in with a Microsoft Entra ID token (needs @azure/identity)
  --server-type T   auto | single | flexible (AZURE_PG_TLS_SERVER_TYPE); single sends user@server
  --no-plaintext-probe  skip the check whether the server accepts plaintext logins
  --json            the report as JSON, for scripts
  --timeout MS      time limit of each network step (default 5000)
  --cache-dir DIR   where Azure's roots are cached (AZURE_PG_TLS_CACHE_DIR)
  --mirror URL      internal mirror for Azure's roots (AZURE_PG_TLS_CERT_MIRROR)
  --offline         never download roots (AZURE_PG_TLS_OFFLINE=1)
  --source S        auto | download | bundled: where Azure's roots come from (AZURE_PG_TLS_CERT_SOURCE)
  -h, --help        this help

Examples:
  azure-pg-tls doctor "host=mydemoserver.postgres.database.azure.com user=myadmin dbname=postgres"
  echo "$PGPASSWORD" | azure-pg-tls doctor "postgresql://myadmin@mydemoserver.postgres.database.azure.com/postgres" --password-stdin
  PGHOST=mydemoserver.postgres.database.azure.com PGUSER=myadmin azure-pg-tls doctor --server-type single --json

Exit codes: 0 every step passed, 1 a step failed, 2 bad usage.`

const CERTS_HELP = `azure-pg-tls certs: Azure's root CAs, pinned by SHA-256, for this library and for other tools

Usage:
  azure-pg-tls certs status [--json]         which Azure roots are available, from where (cache/bundled), until when
  azure-pg-tls certs fetch [--json]          download every Azure root, verify its pin, cache it
  azure-pg-tls certs bundle [--out FILE]     the combined PEM of the trusted roots; printed without --out

Options:
  --json            machine-readable output (status, fetch)
  --out FILE        bundle: write the PEM to FILE
${CERTS_OPTIONS}
  -h, --help        this help

Examples:
  azure-pg-tls certs status
  azure-pg-tls certs fetch --mirror https://pki.example.internal/azure/
  azure-pg-tls certs bundle --out azure-roots.pem
  psql "host=mydemoserver.postgres.database.azure.com user=myadmin dbname=postgres sslmode=verify-full sslrootcert=azure-roots.pem"

Exit codes: 0 success, 1 no usable root or a failed download, 2 bad usage.`

const COMMAND_HELP: Readonly<Record<string, string>> = { doctor: DOCTOR_HELP, certs: CERTS_HELP }

/** The version in the package's own package.json (the bin runs from dist/esm/cli/, tests from src/cli/). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(packageRoot(import.meta.url), 'package.json'), 'utf8')) as { version?: unknown }
  return typeof manifest.version === 'string' ? manifest.version : 'unknown'
}

/** Runs the command line with explicit arguments and context; returns the exit code. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        out: { type: 'string' },
        'cache-dir': { type: 'string' },
        mirror: { type: 'string' },
        offline: { type: 'boolean' },
        source: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        'password-stdin': { type: 'boolean' },
        entra: { type: 'boolean' },
        'server-type': { type: 'string' },
        'no-plaintext-probe': { type: 'boolean' },
      },
    })
  } catch (err) {
    ctx.stderr(`${err instanceof Error ? err.message : String(err)}\n\n${HELP}`)
    return 2
  }
  const { values, positionals } = parsed
  const [command, sub, ...extra] = positionals
  if (values.version === true) {
    ctx.stdout(packageVersion())
    return 0
  }
  // `doctor --help`, `certs status --help`, `help doctor`: the command's own help.
  const helpFor = values.help === true ? command : command === 'help' ? sub : undefined
  const commandHelp = helpFor === undefined ? undefined : COMMAND_HELP[helpFor]
  if (commandHelp !== undefined) {
    ctx.stdout(commandHelp)
    return 0
  }
  if (values.help === true || command === undefined || command === 'help') {
    ctx.stdout(HELP)
    return values.help === true || command === 'help' ? 0 : 2
  }
  const isDoctor = command === 'doctor' && extra.length === 0
  if (!isDoctor && (command !== 'certs' || sub === undefined || !['status', 'fetch', 'bundle'].includes(sub) || extra.length > 0)) {
    ctx.stderr(`unknown command: ${positionals.join(' ')}\n\n${HELP}`)
    return 2
  }
  const timeout = values.timeout === undefined ? undefined : Number(values.timeout)
  const options: CertsOptions = {
    ...(values['cache-dir'] !== undefined && { cacheDir: values['cache-dir'] }),
    ...(values.mirror !== undefined && { mirror: values.mirror }),
    ...(values.offline === true && { offline: true }),
    ...(values.source !== undefined && { source: values.source as CertsOptions['source'] }),
    ...(timeout !== undefined && { timeoutMs: timeout }),
    ...(ctx.fetch !== undefined && { fetch: ctx.fetch }),
  }
  const now = ctx.now ?? (() => new Date())
  const logger: Logger = { warn: (m) => ctx.stderr(`warning: ${m}`) }
  const io: CommandIo = { out: ctx.stdout, err: ctx.stderr, now }
  try {
    if (isDoctor) {
      if (values['password-stdin'] === true && values.entra === true) {
        ctx.stderr('--password-stdin and --entra exclude each other.')
        return 2
      }
      const password = values['password-stdin'] === true ? (await (ctx.stdin ?? readStdin)()).replace(/\r?\n$/, '') : undefined
      const json = values.json === true
      // The checklist appears step by step, so a slow or hanging network shows where it is.
      if (!json) ctx.stdout(REPORT_TITLE)
      const report = await runDoctor({
        options: {
          env: ctx.env, now, logger, certs: options,
          ...(sub !== undefined && { connectionString: sub }),
          ...(password !== undefined && { password }),
          ...(values.entra === true && { entra: true as const }),
          ...(values['server-type'] !== undefined && { serverType: values['server-type'] as ServerType }),
        },
        timeoutMs: timeout ?? 5000,
        plaintextProbe: values['no-plaintext-probe'] !== true,
        ...(!json && { onStep: (step: StepResult) => ctx.stdout(formatStep(step, ctx.color === true)) }),
      })
      ctx.stdout(json ? JSON.stringify(report, null, 2) : formatVerdict(report))
      return report.ok ? 0 : 1
    }
    const settings = resolveCertsSettings(options, ctx.env)
    switch (sub) {
      case 'status': return await certsStatus(settings, io, values.json === true)
      case 'fetch': return await certsFetch(settings, io, values.json === true)
      default: return await certsBundle(settings, io, { logger, now }, values.out)
    }
  } catch (err) {
    if (!(err instanceof AzurePgError)) throw err
    ctx.stderr(`${err.code}: ${err.message}\nfix: ${err.hint}`)
    return err.code === 'INVALID_CONFIG' ? 2 : 1
  }
}
