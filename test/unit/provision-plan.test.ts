// What `npm test` does about missing system tools (lab/provision-plan.ts), for every kind of machine,
// and that the list of requirements names tests that exist.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { describe, it } from 'node:test'
import { installCommand, planProvision, type Machine } from '../../lab/provision-plan.js'
import { PGBOUNCER_BIN, SYSTEM_REQUIREMENTS, type SystemRequirement } from '../../lab/system-requirements.js'

const psql: SystemRequirement = { tool: 'psql', debianPackage: 'postgresql-client', neededBy: ['test/a.test.ts'], versionArgs: ['--version'] }
const bouncer: SystemRequirement = { tool: '/usr/sbin/pgbouncer', debianPackage: 'pgbouncer', neededBy: ['test/b.test.ts'], versionArgs: ['--version'] }
const rootOnDebian: Machine = { isRoot: true, hasApt: true, installed: false }

describe('planProvision', () => {
  it('does nothing when nothing is missing, whatever the machine', () => {
    for (const isRoot of [true, false]) for (const hasApt of [true, false]) for (const installed of [true, false]) {
      assert.deepEqual(planProvision([], { isRoot, hasApt, installed }), { action: 'ready' })
    }
  })

  it('as root with apt-get: one update, then one install of every missing package, sorted, time-limited and quiet', () => {
    const plan = planProvision([psql, bouncer], rootOnDebian)
    assert.equal(plan.action, 'install')
    if (plan.action !== 'install') return
    assert.deepEqual(plan.packages, ['pgbouncer', 'postgresql-client'])
    assert.deepEqual(plan.steps.map((s) => s.argv.filter((a) => !a.startsWith('-') && !a.includes('='))),
      [['apt-get', 'update'], ['apt-get', 'install', 'pgbouncer', 'postgresql-client']])
    const install = plan.steps[1]!.argv
    assert.ok(install.includes('-y') && install.includes('-qq'), 'non-interactive and quiet')
    for (const step of plan.steps) assert.ok(step.timeoutMs > 0 && step.timeoutMs <= 15 * 60_000, `${step.argv.join(' ')} has a time limit`)
  })

  it('installs a package once when two of its tools are missing', () => {
    const plan = planProvision([psql, { ...psql, tool: 'pg_dump' }], rootOnDebian)
    assert.ok(plan.action === 'install')
    assert.deepEqual(plan.packages, ['postgresql-client'])
  })

  it('not root: stops with one line per missing package naming it, its tool, its tests and the sudo command', () => {
    const plan = planProvision([psql, bouncer], { isRoot: false, hasApt: true, installed: false })
    assert.ok(plan.action === 'stop')
    const [why, ...lines] = plan.lines
    assert.match(why ?? '', /not running as root/)
    assert.deepEqual(lines, [
      '  missing pgbouncer (/usr/sbin/pgbouncer, for test/b.test.ts): install it with `sudo apt-get install -y pgbouncer postgresql-client`',
      '  missing postgresql-client (psql, for test/a.test.ts): install it with `sudo apt-get install -y pgbouncer postgresql-client`',
    ])
  })

  it('without apt-get, even as root: stops and names the Debian packages', () => {
    const plan = planProvision([bouncer], { isRoot: true, hasApt: false, installed: false })
    assert.ok(plan.action === 'stop')
    assert.match(plan.lines[0] ?? '', /apt-get is not on PATH/)
    assert.deepEqual(plan.lines.slice(1), ['  missing pgbouncer (/usr/sbin/pgbouncer, for test/b.test.ts): install it with `apt-get install -y pgbouncer`'])
  })

  it('after an install, what is still missing stops the run instead of installing again', () => {
    const plan = planProvision([bouncer], { ...rootOnDebian, installed: true })
    assert.ok(plan.action === 'stop')
    assert.match(plan.lines[0] ?? '', /apt-get install ran, yet these are still missing/)
    assert.equal(plan.lines.length, 2)
  })

  it('installCommand is the command a person types: sudo unless root', () => {
    assert.equal(installCommand(['pgbouncer', 'postgresql-client'], false), 'sudo apt-get install -y pgbouncer postgresql-client')
    assert.equal(installCommand(['pgbouncer'], true), 'apt-get install -y pgbouncer')
  })
})

describe('SYSTEM_REQUIREMENTS', () => {
  it('names test files that exist and mention what they need', () => {
    for (const r of SYSTEM_REQUIREMENTS) {
      assert.ok(r.neededBy.length > 0, `${r.tool} is needed by some test`)
      for (const file of r.neededBy) {
        const url = new URL(`../../${file}`, import.meta.url)
        assert.ok(existsSync(url), `${file} exists`)
        assert.ok(readFileSync(url, 'utf8').includes(basename(r.tool)), `${file} mentions ${basename(r.tool)}`)
      }
    }
  })

  it('covers psql and the PgBouncer lab/pgbouncer.ts starts, one package each', () => {
    assert.deepEqual(SYSTEM_REQUIREMENTS.map((r) => [r.tool, r.debianPackage]), [['psql', 'postgresql-client'], [PGBOUNCER_BIN, 'pgbouncer']])
  })
})
