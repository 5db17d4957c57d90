#!/usr/bin/env node
// The `azure-pg-tls` command. All behaviour lives in main.ts, where tests run it in-process.
import { runCli } from './main.js'

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  color: process.stdout.isTTY === true && (process.env['NO_COLOR'] ?? '') === '',
})
