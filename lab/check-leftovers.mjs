#!/usr/bin/env node
// Runs a command (the test suite) under a fresh run tag and then checks that it left nothing behind:
// no process and no folder in os.tmpdir() carrying the tag (lab/temp-dir.ts names every lab and test
// folder azure-pg-tls-<tag>-..., and postgres runs with its data folder on the command line).
// Leftovers are listed, removed, and fail the run. Usage: node lab/check-leftovers.mjs -- command args...
// Plain JavaScript, so it runs before and without tsx.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const sep = process.argv.indexOf('--')
const [command, ...args] = sep === -1 ? [] : process.argv.slice(sep + 1)
if (command === undefined) {
  console.error('usage: node lab/check-leftovers.mjs -- command [args...]')
  process.exit(2)
}

const tag = `run${randomBytes(4).toString('hex')}`
const marker = `azure-pg-tls-${tag}-`

/** Processes whose command line names a folder of this run (postgres -D <data folder>). */
function taggedProcesses() {
  const found = []
  let pids
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return found // no /proc (not Linux): only folders are checked
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue
    let cmdline
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()
    } catch {
      continue // gone already, or not ours to read
    }
    if (cmdline.includes(marker)) found.push({ pid: Number(pid), cmdline })
  }
  return found
}

const taggedFolders = () => readdirSync(tmpdir()).filter((name) => name.startsWith(marker)).map((name) => join(tmpdir(), name))

const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, AZURE_PG_TLS_LAB_RUN: tag } })
const code = await new Promise((resolve) => {
  child.once('error', (err) => { console.error(`check-leftovers: cannot run ${command}: ${err.message}`); resolve(127) })
  child.once('exit', (c, signal) => resolve(c ?? (signal === null ? 1 : 128)))
})

const processes = taggedProcesses()
const folders = taggedFolders()
if (processes.length === 0 && folders.length === 0) {
  console.log(`check-leftovers: no process and no ${marker}* folder left in ${tmpdir()}`)
  process.exit(code)
}
for (const p of processes) {
  console.error(`check-leftovers: process ${p.pid} still running: ${p.cmdline}`)
  try { process.kill(p.pid, 'SIGKILL') } catch { /* already gone */ }
}
for (const f of folders) {
  console.error(`check-leftovers: folder left behind: ${f}`)
  rmSync(f, { recursive: true, force: true })
}
console.error('check-leftovers: the run left the above behind (now removed); a server or folder lacks its cleanup')
process.exit(code === 0 ? 1 : code)
