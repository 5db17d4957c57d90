// What the test suite runs from the machine beyond package.json, as data: lab/provision.ts checks and
// installs exactly this list before `npm test` runs a test, so a missing tool is a clear stop, never a
// cancelled test. Programs every Debian system has (coreutils' cp, mkfifo, chown, id; passwd's useradd,
// which the lab uses as root) are left out: they are Essential or required packages.
// A test that starts using another program adds one entry here, e.g. Debian's PostgreSQL 15 server:
//   { tool: '/usr/lib/postgresql/15/bin/postgres', debianPackage: 'postgresql-15', versionArgs: ['--version'],
//     neededBy: ['test/…'] }
// (the folder `pg_config --bindir` names once postgresql-15 is installed).

/** Where Debian's pgbouncer package installs the binary; PGBOUNCER_BIN points the lab at another one. */
export const PGBOUNCER_BIN = process.env['PGBOUNCER_BIN'] ?? '/usr/sbin/pgbouncer'

/** One program the tests run, and where it comes from. */
export interface SystemRequirement {
  /** The program as the tests start it: a name looked up on PATH, or an absolute path. */
  readonly tool: string
  /** The Debian package that installs it. */
  readonly debianPackage: string
  /** The test files (from the repository root) that fail without it, for the message that names it. */
  readonly neededBy: readonly string[]
  /**
   * Arguments that make the program print its version and exit 0. It counts as present only if that run
   * works: Debian's postgresql-client-common leaves a `psql` wrapper on PATH that fails ("You must install
   * at least one postgresql-client-<version> package") once the real client is removed.
   */
  readonly versionArgs: readonly string[]
}

/** Every program the suite needs that `npm ci` does not install. */
export const SYSTEM_REQUIREMENTS: readonly SystemRequirement[] = [
  {
    // libpq's own verify-full verdicts, to check the SDK's against (execFile('psql', ...)).
    tool: 'psql',
    debianPackage: 'postgresql-client',
    versionArgs: ['--version'],
    neededBy: ['test/integration/libpq-crosscheck.test.ts', 'test/integration/rotated-chain.test.ts'],
  },
  {
    // Azure Flexible Server's built-in pooler, started by lab/pgbouncer.ts.
    tool: PGBOUNCER_BIN,
    debianPackage: 'pgbouncer',
    versionArgs: ['--version'],
    neededBy: ['test/integration/pgbouncer.test.ts'],
  },
]
