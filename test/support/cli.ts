// The command line run in this process: runCli with its standard output and error captured.
import { runCli, type CliContext } from '../../src/cli/main.js'

export interface CliRun {
  readonly code: number
  /** What was written to stdout, each write a line. */
  readonly out: string
  /** What was written to stderr, each write a line. */
  readonly err: string
  /** stdout and stderr interleaved in the order written, each write a line. */
  readonly all: string
  /** The writes to stdout, one entry each. */
  readonly outLines: readonly string[]
  /** The writes to stdout and stderr, in order, one entry each. */
  readonly allLines: readonly string[]
}

/** Runs the CLI on `args` in this process; `ctx` is runCli's context without its writers (env defaults to {}). */
export async function runCliCaptured(args: readonly string[], ctx: Partial<Omit<CliContext, 'stdout' | 'stderr'>> = {}): Promise<CliRun> {
  const out: string[] = []
  const err: string[] = []
  const all: string[] = []
  const code = await runCli(args, {
    env: {}, ...ctx,
    stdout: (t) => { out.push(t); all.push(t) },
    stderr: (t) => { err.push(t); all.push(t) },
  })
  return { code, out: out.join('\n'), err: err.join('\n'), all: all.join('\n'), outLines: out, allLines: all }
}
