// The first step of `npm test`: looks for each program of lab/system-requirements.ts and carries out what
// lab/provision-plan.ts decides (install with apt-get, or print what to install and exit 1). The machine
// is read and changed only here. Usage: node --import tsx lab/provision.ts
import { spawnSync } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { APT_ENV, planProvision, type Machine } from './provision-plan.js'
import { SYSTEM_REQUIREMENTS, type SystemRequirement } from './system-requirements.js'

/** Whether `file` is an executable regular file (a dangling symlink or a folder is not). */
function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/** Whether `tool` can be started: an absolute path as it stands, a name through PATH, as execFile finds it. */
function found(tool: string): boolean {
  if (isAbsolute(tool)) return executable(tool)
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, tool)))
}

/** Whether `r` runs: found, and its version run exits 0 within 10 s (a wrapper without its program fails). */
function works(r: SystemRequirement): boolean {
  if (!found(r.tool)) return false
  const run = spawnSync(r.tool, r.versionArgs, { timeout: 10_000, stdio: 'ignore' })
  return run.status === 0
}

const missing = (): SystemRequirement[] => SYSTEM_REQUIREMENTS.filter((r) => !works(r))
const machine: Omit<Machine, 'installed'> = { isRoot: process.getuid?.() === 0, hasApt: found('apt-get') }

let plan = planProvision(missing(), { ...machine, installed: false })
if (plan.action === 'install') {
  console.log(`provision: installing ${plan.packages.join(' ')} with apt-get (Debian packages the tests need)`)
  for (const step of plan.steps) {
    const started = Date.now()
    const [file, ...args] = step.argv
    const r = spawnSync(file, args, {
      env: { ...process.env, ...APT_ENV }, timeout: step.timeoutMs, encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024,
    })
    if (r.status === 0) {
      console.log(`provision: ${step.argv.join(' ')}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
      continue
    }
    // apt's progress is noise when it works; when it fails, its last lines say why.
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n')
    if (tail !== '') console.error(tail)
    const how = r.error !== undefined ? r.error.message : r.signal !== null ? `killed by ${r.signal} (time limit ${step.timeoutMs / 1000} s)` : `exit code ${r.status}`
    console.error(`provision: ${step.argv.join(' ')} failed: ${how}`)
    break
  }
  plan = planProvision(missing(), { ...machine, installed: true })
}
if (plan.action === 'stop') {
  for (const line of plan.lines) console.error(line)
  process.exit(1)
}
console.log(`provision: found ${SYSTEM_REQUIREMENTS.map((r) => r.tool).join(', ')}`)
