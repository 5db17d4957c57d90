#!/usr/bin/env node
// npm run mutate: mutation testing (StrykerJS, stryker.config.json) in groups (test/mutation/groups.json).
// Each group's source files are tested only by the test files that cover them, all in one plain node
// process per mutant (test/mutation/run-tests.mjs) on the sandbox compiled once to JavaScript
// (test/mutation/build.mjs, Stryker's buildCommand), stopping at the first failing test (test/mutation/bail.mjs).
// One Stryker run per group, one after the other, each incremental: its state is
// test/mutation/incremental/<group>.json (committed), so a re-run tests only the mutants of changed code.
// Stryker's command runner cannot tell which tests changed: a group whose test files (or test/support,
// lab, test/mutation) changed since its state was written is re-run in full (--force); so is every
// group with --force. A change in source outside a group's files is not seen: use --force then.
//
//   node scripts/mutate.mjs                 every group
//   node scripts/mutate.mjs tls trust       those groups
//   node scripts/mutate.mjs --force ...     ignore the incremental state
//   node scripts/mutate.mjs --keep-killed ...
//                                           for groups whose tests changed: keep the killed (and timed
//                                           out) results of the state and test again only the survivors
//                                           and the mutants of changed source. Right only when the tests
//                                           were added to or strengthened, never weakened or removed.
//   node scripts/mutate.mjs --concurrency 4 --timeout-ms 60000 ...
//                                           Stryker's concurrency and timeoutMS for this run (on a busy
//                                           machine: a healthy run slower than the limit would count as
//                                           a timeout, that is as detected)
//   node scripts/mutate.mjs --summary       only print the table of the last reports
//   node scripts/mutate.mjs trust --only 'src/trust/store.ts:120-140'
//                                           a focused check of some files or lines (Stryker's --mutate
//                                           syntax) with the group's tests: no incremental state is read
//                                           or written, the report goes to reports/mutation/<group>-only/
//
// Writes reports/mutation/<group>/ (html, json; not committed) and reports/mutation/summary.md.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
process.chdir(root)
const args = process.argv.slice(2)
const force = args.includes('--force')
const summaryOnly = args.includes('--summary')
const keepKilled = args.includes('--keep-killed')
if (keepKilled && force) throw new Error('mutate: --keep-killed and --force exclude each other')
const { groups } = JSON.parse(readFileSync('test/mutation/groups.json', 'utf8'))
const base = JSON.parse(readFileSync('stryker.config.json', 'utf8'))
const onlyAt = args.indexOf('--only')
const only = onlyAt === -1 ? undefined : args[onlyAt + 1]
if (onlyAt !== -1 && (only === undefined || only.startsWith('--'))) throw new Error('mutate: --only needs files or ranges, as Stryker\'s --mutate takes them')
/** The value of a numeric option, or undefined. */
function numberOption(name) {
  const at = args.indexOf(name)
  if (at === -1) return undefined
  const value = Number(args[at + 1])
  if (!Number.isInteger(value) || value <= 0) throw new Error(`mutate: ${name} needs a positive whole number`)
  return value
}
const concurrency = numberOption('--concurrency')
const timeoutMS = numberOption('--timeout-ms')
const valued = new Set(['--only', '--concurrency', '--timeout-ms'].map((o) => args.indexOf(o)).filter((i) => i !== -1).map((i) => i + 1))
const asked = args.filter((a, i) => !a.startsWith('--') && !valued.has(i))
for (const name of asked) if (!(name in groups)) throw new Error(`mutate: no group ${name} (groups: ${Object.keys(groups).join(', ')})`)
const chosen = asked.length > 0 ? asked : Object.keys(groups)
const stateDir = 'test/mutation/incremental'

/** Every file of a folder, recursively, sorted. */
function filesUnder(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f))).filter((f) => statSync(f).isFile()).sort()
}

/** A fingerprint of what a group's verdicts depend on besides its own source: its tests and their helpers. */
function testsFingerprint(group) {
  const hash = createHash('sha256')
  const files = [...group.tests, ...filesUnder('test/support'), ...filesUnder('lab'), ...filesUnder('test/fixtures'),
    'test/mutation/run-tests.mjs', 'test/mutation/build.mjs', 'test/mutation/bail.mjs', 'stryker.config.json']
  for (const f of files) hash.update(`${f}\0`).update(readFileSync(f)).update('\0')
  hash.update(JSON.stringify(group))
  return hash.digest('hex')
}

function runGroup(name, group) {
  const dir = join('reports/mutation', only === undefined ? name : `${name}-only`)
  mkdirSync(dir, { recursive: true })
  mkdirSync(stateDir, { recursive: true })
  const incrementalFile = join(stateDir, `${name}.json`)
  const fingerprintFile = join(stateDir, `${name}.tests-sha256`)
  const fingerprint = testsFingerprint(group)
  const stale = !existsSync(fingerprintFile) || readFileSync(fingerprintFile, 'utf8').trim() !== fingerprint
  const config = {
    ...base,
    _comment: `Written by scripts/mutate.mjs for group ${name}; do not edit.`,
    mutate: only === undefined ? group.mutate : only.split(','),
    commandRunner: {
      command: `node --import ./lab/loopback-guard.js --test-reporter=./test/mutation/bail.mjs --test-reporter-destination=stdout test/mutation/run-tests.mjs ${group.tests.join(' ')}`,
    },
    // Once per sandbox, before the dry run: every .ts compiled to a .js beside it, so that each mutant's
    // process is plain node (no tsx start-up and module transforms per mutant).
    buildCommand: 'node test/mutation/build.mjs',
    incremental: only === undefined,
    incrementalFile,
    htmlReporter: { fileName: join(dir, 'mutation.html') },
    jsonReporter: { fileName: join(dir, 'mutation.json') },
    // A sandbox folder per group, so that two groups may run at once without sharing or copying one.
    tempDirName: `.stryker-tmp-${name}`,
    ...(concurrency !== undefined && { concurrency }),
    ...(timeoutMS !== undefined && { timeoutMS }),
  }
  delete config.$schema
  const configFile = join(dir, 'stryker.config.json')
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`)
  const kept = only === undefined && stale && keepKilled && existsSync(incrementalFile) ? keepDetected(incrementalFile) : undefined
  const full = only === undefined && (force || stale) && kept === undefined
  console.log(`\n== mutate: group ${name}${only === undefined ? '' : ` only ${only}`} (${group.mutate.join(', ')}; ${group.tests.length} test files)${full ? ', in full' + (force ? '' : ': its tests changed') : kept === undefined ? ', incremental' : `, incremental: its tests changed, ${kept} killed results kept, the survivors tested again`}`)
  const started = Date.now()
  // The tests' temporary folders carry this run's tag (lab/temp-dir.ts): a mutant stopped at its time
  // limit is killed before it can remove its own, so they are removed here, and only this run's.
  const tag = `mutate${process.pid}${name.replace(/[^a-z]/g, '')}`
  const r = spawnSync('npx', ['stryker', 'run', configFile, ...(full ? ['--force'] : [])], { stdio: 'inherit', env: { ...process.env, AZURE_PG_TLS_LAB_RUN: tag } })
  for (const f of readdirSync(tmpdir())) if (f.startsWith(`azure-pg-tls-${tag}-`)) rmSync(join(tmpdir(), f), { recursive: true, force: true })
  const seconds = Math.round((Date.now() - started) / 1000)
  if (r.status !== 0) throw new Error(`mutate: group ${name} failed (exit ${r.status}) after ${seconds} s`)
  if (only === undefined) {
    writeFileSync(fingerprintFile, `${fingerprint}\n`)
    pruneState(incrementalFile, group)
  }
  console.log(`== mutate: group ${name} done in ${seconds} s`)
  return seconds
}

const COUNTED = ['Killed', 'Timeout', 'Survived', 'NoCoverage']

/**
 * --keep-killed: drops from a group's state every result that is not a detection (Killed, Timeout) or
 * an Ignored mutant, so Stryker's incremental run tests those mutants again; returns how many were kept.
 */
function keepDetected(file) {
  const state = JSON.parse(readFileSync(file, 'utf8'))
  let kept = 0
  for (const entry of Object.values(state.files)) {
    entry.mutants = entry.mutants.filter((m) => ['Killed', 'Timeout', 'Ignored'].includes(m.status))
    kept += entry.mutants.filter((m) => m.status !== 'Ignored').length
  }
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`)
  return kept
}

/**
 * True when `file` is one of a group's source files (its patterns are paths, or a folder followed by `**`
 * and `*.ts`). Stryker's incremental report also carries the results of files a group no longer mutates
 * (moved to another group): those are neither counted nor kept.
 */
function inGroup(group, file) {
  return group.mutate.some((p) => p.endsWith('/**/*.ts') ? file.startsWith(p.slice(0, -'**/*.ts'.length)) && file.endsWith('.ts') : file === p)
}

/** Drops from a group's incremental state the files it no longer mutates. */
function pruneState(file, group) {
  if (!existsSync(file)) return
  const state = JSON.parse(readFileSync(file, 'utf8'))
  const names = Object.keys(state.files)
  for (const name of names) if (!inGroup(group, name)) delete state.files[name]
  if (Object.keys(state.files).length !== names.length) writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`)
}

/** The per-file table of the groups' latest reports (markdown). */
function summary(names) {
  const rows = []
  const total = { mutants: 0, Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 }
  for (const name of names) {
    const report = join('reports/mutation', name, 'mutation.json')
    if (!existsSync(report)) continue
    const { files } = JSON.parse(readFileSync(report, 'utf8'))
    const group = groups[name.replace(/-only$/, '')]
    for (const [file, { mutants }] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
      if (group !== undefined && !inGroup(group, file) && only === undefined) continue
      const c = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0 }
      for (const m of mutants) if (m.status in c) c[m.status]++
      const valid = COUNTED.reduce((s, k) => s + c[k], 0)
      for (const k of COUNTED) total[k] += c[k]
      total.mutants += valid
      rows.push(`| ${name} | \`${file}\` | ${valid} | ${c.Killed} | ${c.Survived} | ${c.NoCoverage} | ${c.Timeout} | ${score(c, valid)} |`)
    }
  }
  return ['| group | file | mutants | killed | survived | no coverage | timeout | score |', '|---|---|---:|---:|---:|---:|---:|---:|', ...rows,
    `| **all** | | ${total.mutants} | ${total.Killed} | ${total.Survived} | ${total.NoCoverage} | ${total.Timeout} | **${score(total, total.mutants)}** |`].join('\n')
}

function score(c, valid) {
  return valid === 0 ? 'n/a' : `${(((c.Killed + c.Timeout) / valid) * 100).toFixed(1)}%`
}

if (only !== undefined && asked.length !== 1) throw new Error('mutate: --only goes with exactly one group')
if (!summaryOnly) {
  const times = []
  for (const name of chosen) times.push(`${name}: ${runGroup(name, groups[name])} s`)
  console.log(`\n== mutate: ${times.join(', ')}`)
}
const table = summary(only === undefined ? Object.keys(groups) : chosen.map((g) => `${g}-only`))
mkdirSync('reports/mutation', { recursive: true })
if (only === undefined) writeFileSync('reports/mutation/summary.md', `${table}\n`)
console.log(`\n${table}\n\n(reports/mutation/summary.md)`)
