#!/usr/bin/env node
// The `azure-pg-tls` command. All behaviour lives in main.ts, where tests run it in-process.
import { processEnv } from '../config/resolve.js'
import { runCli } from './main.js'

const env = processEnv()

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env,
  color: process.stdout.isTTY === true && (env['NO_COLOR'] ?? '') === '',
})
