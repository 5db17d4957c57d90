// What `npm test` does about the system tools it lacks, decided without touching the machine (the unit
// tests walk every branch; lab/provision.ts does the looking and the running). A newcomer on Debian who
// runs it as root gets the packages installed; anyone else gets told exactly what to install, and the
// run stops before a test is started, so a missing tool never shows up as a cancelled or skipped test.
import type { SystemRequirement } from './system-requirements.js'

/** What the plan needs to know about the machine. */
export interface Machine {
  /** Whether this process runs as root, so it may install packages itself. */
  readonly isRoot: boolean
  /** Whether apt-get is on PATH: a Debian (or Debian-based) system, whose package names the list uses. */
  readonly hasApt: boolean
  /** Whether this run has already installed: what is missing after that is not fixed by installing again. */
  readonly installed: boolean
}

/** One command to run, with its time limit: a stuck apt-get must fail the run, not hang it. */
export interface Step {
  readonly argv: readonly [string, ...string[]]
  readonly timeoutMs: number
}

/** The outcome: nothing to do, commands to run (then look again), or lines to print before failing. */
export type ProvisionPlan =
  | { readonly action: 'ready' }
  | { readonly action: 'install'; readonly packages: readonly string[]; readonly steps: readonly Step[] }
  | { readonly action: 'stop'; readonly lines: readonly string[] }

/** Environment for the apt-get steps: no debconf question may wait for an answer nobody gives. */
export const APT_ENV: Readonly<Record<string, string>> = { DEBIAN_FRONTEND: 'noninteractive' }

const UPDATE_TIMEOUT_MS = 5 * 60_000
const INSTALL_TIMEOUT_MS = 10 * 60_000
// Another apt-get on a shared machine holds the dpkg lock for a while; waiting beats failing at once.
const LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=120'] as const

/** The missing requirements grouped by Debian package, packages sorted, so output and command are stable. */
function byPackage(missing: readonly SystemRequirement[]): Map<string, SystemRequirement[]> {
  const groups = new Map<string, SystemRequirement[]>()
  for (const r of [...missing].sort((a, b) => a.debianPackage.localeCompare(b.debianPackage))) {
    groups.set(r.debianPackage, [...(groups.get(r.debianPackage) ?? []), r])
  }
  return groups
}

/** The apt-get command that installs `packages`, as a person would type it on this machine. */
export function installCommand(packages: readonly string[], isRoot: boolean): string {
  return `${isRoot ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`
}

/**
 * Decides what to do about the requirements `missing` from the machine: `ready` when none is; `install`
 * (apt-get update once, then one apt-get install of every missing package) when the process is root on a
 * system with apt-get and has not installed yet; otherwise `stop`, with a line saying why it cannot install
 * and one line per missing package naming it, its programs, the tests that need it and the command.
 */
export function planProvision(missing: readonly SystemRequirement[], machine: Machine): ProvisionPlan {
  if (missing.length === 0) return { action: 'ready' }
  const groups = byPackage(missing)
  const packages = [...groups.keys()]
  if (machine.isRoot && machine.hasApt && !machine.installed) {
    return {
      action: 'install',
      packages,
      steps: [
        { argv: ['apt-get', '-qq', ...LOCK_WAIT, 'update'], timeoutMs: UPDATE_TIMEOUT_MS },
        { argv: ['apt-get', '-qq', '-y', ...LOCK_WAIT, 'install', ...packages], timeoutMs: INSTALL_TIMEOUT_MS },
      ],
    }
  }
  const why = machine.installed
    ? 'apt-get install ran, yet these are still missing'
    : !machine.hasApt
      ? 'apt-get is not on PATH (these are Debian package names; install the equivalents)'
      : 'not running as root, so it does not install system packages itself'
  const command = installCommand(packages, machine.isRoot)
  return {
    action: 'stop',
    lines: [
      `npm test needs ${packages.length === 1 ? 'a system package' : 'system packages'} that this machine lacks; ${why}:`,
      ...[...groups].map(([pkg, reqs]) =>
        `  missing ${pkg} (${reqs.map((r) => r.tool).join(', ')}, for ${[...new Set(reqs.flatMap((r) => r.neededBy))].join(', ')}): install it with \`${command}\``),
    ],
  }
}
