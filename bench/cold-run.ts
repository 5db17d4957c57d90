// The cold-process scenario on its own (npm run bench runs it too): `node --import tsx --import ./lab/loopback-guard.ts bench/cold-run.ts`.
// Prints the results as JSON; COLD_RUNS sets the runs per contender (default 15).
import { existsSync } from 'node:fs'
import os from 'node:os'
import { startLab } from '../lab/lab.js'
import { DEBIAN_POSTGRES_15 } from '../lab/postgres-server.js'
import { makeTempDir, removeTempDir } from '../lab/temp-dir.js'
import { azureRootPems, buildPackage, coldStart } from './cold-start.js'
import { pinCpus } from './cpu-pinning.js'

const log = (line: string): void => { process.stderr.write(`${line}\n`) }
await buildPackage()
const lab = await startLab(existsSync(`${DEBIAN_POSTGRES_15}/postgres`) ? ['good', 'pg15'] : ['good'])
const workDir = await makeTempDir('cold-bench')
try {
  log(`cold: ${await pinCpus(Object.values(lab.servers))}; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const results = await coldStart({ lab, ca: [...(await azureRootPems()), lab.root.pem], workDir, runs: Number(process.env['COLD_RUNS'] ?? 15), delayMs: 10, log })
  process.stdout.write(`${JSON.stringify({ loadAverage: os.loadavg(), ...results }, null, 2)}\n`)
} finally {
  await lab.stop()
  await removeTempDir(workDir)
}
