// `azure-pg-tls doctor` on a host list against a real replicated pair (PostgreSQL 18 primary + hot standby,
// each with its own certificate and name): each server's role and version, which server the configured
// target_session_attrs would choose, Azure's HA / read replica / virtual endpoint conventions in the
// details, and a failing verdict when no server fits.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { DoctorReport, StepResult } from '../../src/doctor/run-doctor.js'
import { chosenByRoles, type HostRole } from '../../src/doctor/host-roles.js'
import { PRIMARY_HOST, STANDBY_HOST, startHaPair, type HaPair } from '../../lab/ha-pair.js'
import { LOGINS } from '../../lab/lab.js'
import { refusingPort } from '../../lab/tcp-server.js'
import { runCliCaptured } from '../support/cli.js'

let pair: HaPair
let closedPort: number

before(async () => {
  pair = await startHaPair({ synchronous: false })
  closedPort = await refusingPort()
})
after(async () => { await pair?.stop() })

/** The host list as PG* variables (the form every source shares: libpq's comma lists). */
function listEnv(members: ReadonlyArray<{ name: string; port: number }>, attrs: string): Record<string, string> {
  return {
    PGHOST: members.map((m) => m.name).join(','), PGHOSTADDR: members.map(() => '127.0.0.1').join(','), PGPORT: members.map((m) => String(m.port)).join(','),
    PGDATABASE: 'postgres', PGUSER: LOGINS.flexible.user, PGSSLROOTCERT: pair.rootPath, PGTARGETSESSIONATTRS: attrs,
  }
}

function pairEnv(order: ReadonlyArray<'primary' | 'standby'>, attrs: string): Record<string, string> {
  return listEnv(order.map((m) => (m === 'primary' ? { name: PRIMARY_HOST, port: pair.primary.port } : { name: STANDBY_HOST, port: pair.standby.port })), attrs)
}

async function doctor(env: Record<string, string>, password?: string): Promise<{ code: number; report: DoctorReport; hosts: StepResult | undefined }> {
  const r = await runCliCaptured(['doctor', '--json', '--no-plaintext-probe', ...(password === undefined ? [] : ['--password-stdin'])], {
    env, ...(password !== undefined && { stdin: async () => `${password}\n` }),
  })
  const report = JSON.parse(r.out) as DoctorReport
  assert.doesNotMatch(r.out, new RegExp(LOGINS.flexible.password))
  return { code: r.code, report, hosts: report.steps.find((s) => s.step === 'hosts') }
}

describe('azure-pg-tls doctor on a host list', () => {
  it('names each server\'s role and version, and the server read-write would choose', async () => {
    const { code, report, hosts } = await doctor(pairEnv(['standby', 'primary'], 'read-write'), LOGINS.flexible.password)
    assert.equal(code, 0, JSON.stringify(report.steps, null, 1))
    assert.ok(hosts !== undefined)
    assert.equal(hosts.status, 'pass')
    assert.equal(hosts.summary, `target_session_attrs=read-write would choose ${PRIMARY_HOST} (127.0.0.1):${pair.primary.port} (primary)`)
    assert.match(hosts.details[0] ?? '', new RegExp(`^${STANDBY_HOST.replaceAll('.', '\\.')} \\(127\\.0\\.0\\.1\\):${pair.standby.port}: standby \\(pg_is_in_recovery\\(\\) true: a read replica, read-only\\), PostgreSQL 18\\.\\d+`))
    assert.match(hosts.details[1] ?? '', new RegExp(`^${PRIMARY_HOST.replaceAll('.', '\\.')} \\(127\\.0\\.0\\.1\\):${pair.primary.port}: primary \\(pg_is_in_recovery\\(\\) false\\), PostgreSQL 18\\.\\d+`))
    assert.ok(hosts.details.some((d) => /writer endpoint always points to the current primary/.test(d)))
    assert.ok(hosts.details.some((d) => /read replicas: each replica is a server of its own/.test(d)))
    // The steps before it looked at the first server, and logged in to it alone (the standby).
    assert.equal(report.steps.find((s) => s.step === 'authentication')?.status, 'pass')
  })

  it('prefer-standby chooses the standby listed second', async () => {
    const { hosts } = await doctor(pairEnv(['primary', 'standby'], 'prefer-standby'), LOGINS.flexible.password)
    assert.equal(hosts?.summary, `target_session_attrs=prefer-standby would choose ${STANDBY_HOST} (127.0.0.1):${pair.standby.port} (standby)`)
  })

  it('no server of the wanted kind: the hosts step fails with what to do', async () => {
    const { code, hosts } = await doctor(pairEnv(['standby'], 'primary'), LOGINS.flexible.password)
    assert.equal(code, 1)
    assert.equal(hosts?.status, 'fail')
    assert.equal(hosts?.summary, 'target_session_attrs=primary: no server of the list would be chosen')
    assert.match(hosts?.fix ?? '', /writer virtual endpoint always points to the primary/)
  })

  it('without credentials, the hosts step says what it needs', async () => {
    const { code, hosts } = await doctor(pairEnv(['primary', 'standby'], 'read-write'))
    assert.equal(code, 0)
    assert.equal(hosts?.status, 'skip')
    assert.match(hosts?.summary ?? '', /^2 servers, target_session_attrs=read-write: log in/)
  })

  it('a server that cannot be reached is reported, and passed over for the choice', async () => {
    const env = listEnv([{ name: PRIMARY_HOST, port: pair.primary.port }, { name: STANDBY_HOST, port: closedPort }], 'any')
    const { hosts } = await doctor(env, LOGINS.flexible.password)
    assert.equal(hosts?.status, 'pass')
    assert.match(hosts?.details[1] ?? '', /: not logged in to: Cannot reach .*ECONNREFUSED/)
  })
})

describe('chosenByRoles follows libpq\'s order and rules', () => {
  const primary: HostRole = { ok: true, inRecovery: false, readOnly: false, version: '18' }
  const standby: HostRole = { ok: true, inRecovery: true, readOnly: true, version: '18' }
  const readOnlyPrimary: HostRole = { ok: true, inRecovery: false, readOnly: true, version: '18' }
  const down: HostRole = { ok: false, failure: 'refused', code: 'CONNECTION_FAILED' }
  it('chooses per value', () => {
    assert.equal(chosenByRoles([standby, primary], 'any'), 0)
    assert.equal(chosenByRoles([standby, primary], 'read-write'), 1)
    assert.equal(chosenByRoles([readOnlyPrimary, standby], 'read-only'), 0)
    assert.equal(chosenByRoles([readOnlyPrimary, standby], 'standby'), 1)
    assert.equal(chosenByRoles([readOnlyPrimary, primary], 'primary'), 0)
    assert.equal(chosenByRoles([primary, standby], 'prefer-standby'), 1)
    assert.equal(chosenByRoles([primary, readOnlyPrimary], 'prefer-standby'), 0)
    assert.equal(chosenByRoles([down, standby], 'read-write'), undefined)
    assert.equal(chosenByRoles([down, primary], 'primary'), 1)
  })
})
