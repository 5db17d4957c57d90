// Running the example scripts as a user would, as separate processes, against a lab server: shared by
// the example test files (split so that each file stays well within the test runner's per-file limit).
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { AZURE_HOST, LOGINS, type Lab } from '../../lab/lab.js'

export const run = promisify(execFile)
export const root = fileURLToPath(new URL('../../', import.meta.url))

/** A clean environment: the machine's own PG* variables must not leak into what is tested. */
export function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The lab's run tag goes along, so lab/check-leftovers.mjs also sees what the demo's own lab leaves.
  const keep = ['PATH', 'HOME', 'TMPDIR', 'AZURE_PG_TLS_LAB_RUN'].filter((k) => process.env[k] !== undefined)
  return { ...Object.fromEntries(keep.map((k) => [k, process.env[k]])), ...extra }
}

/** Runs `examples/<name>` with `env` only; its exit code and output. */
export async function example(name: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `examples/${name}`], { cwd: root, env: envWith(env), timeout: 60_000 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** The PG* variables that point an example at the lab's good server, as a Single Server login. */
export function labEnv(lab: Lab): Record<string, string> {
  return {
    PGHOST: AZURE_HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(lab.server('good').port), PGDATABASE: 'postgres',
    PGUSER: 'myadmin', PGPASSWORD: LOGINS.single.password, PGSSLROOTCERT: lab.rootPath, AZURE_PG_TLS_SERVER_TYPE: 'single',
  }
}

/** A DATABASE_URL for the lab's good server with `sslmode`. */
export function labDatabaseUrl(lab: Lab, sslmode: string): string {
  return `postgresql://myadmin:${LOGINS.single.password}@${AZURE_HOST}:${lab.server('good').port}/postgres?sslmode=${sslmode}&hostaddr=127.0.0.1&sslrootcert=${encodeURIComponent(lab.rootPath)}`
}
