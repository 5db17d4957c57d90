// A cold start never waits on the network when a verified root is at hand: in `auto`, the bundled copy is
// trusted at once and the cache is refreshed in the background; a failed refresh is remembered for a day.
// Asserted by the order of events and by counting requests, never by measuring time.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { resolveCertsSettings } from '../../src/config/certs-settings.js'
import type { CertsOptions } from '../../src/options.js'
import { backgroundTasks } from '../../src/trust/background.js'
import { clearRootMemo, resolveAzureRoots, settleBackgroundWork, type ResolvedRoot } from '../../src/trust/store.js'
import { expectAzureError } from '../support/assert-error.js'
import { startMirror, type Mirror } from '../../lab/cert-mirror.js'
import { tempDirs } from '../support/temp-dir.js'

const run = promisify(execFile)
const repo = fileURLToPath(new URL('../../', import.meta.url))
const LIMIT = { timeout: 30_000 }
const MARKER = 'refresh-failed.json'
const DAY = 24 * 60 * 60 * 1000
const DEFAULT_IDS = ['digicert-global-root-ca', 'digicert-global-root-g2', 'microsoft-rsa-root-ca-2017']

const tempDir = tempDirs('cold')

function resolveWith(options: CertsOptions, warnings: string[] = [], now = new Date()): Promise<readonly ResolvedRoot[]> {
  return resolveAzureRoots(resolveCertsSettings(options, {}), { logger: { warn: (m) => warnings.push(m) }, now: () => now })
}

async function marker(cacheDir: string): Promise<{ failedAt: string; source: string; roots: string[] }> {
  return JSON.parse(await readFile(join(cacheDir, MARKER), 'utf8')) as { failedAt: string; source: string; roots: string[] }
}

let stalled: Mirror
let good: Mirror
before(async () => {
  stalled = await startMirror({ behaviour: 'slow' })
  good = await startMirror()
})
after(async () => {
  stalled.releaseStalled()
  await settleBackgroundWork()
  await stalled.close()
  await good.close()
})
afterEach(async () => {
  stalled.releaseStalled()
  await settleBackgroundWork()
  clearRootMemo()
  stalled.requests.clear()
  good.requests.clear()
})

describe('auto on a cold start, with a mirror that accepts and never answers', () => {
  it('returns the bundled roots before the mirror has answered anything; the refresh fails later and is remembered', LIMIT, async () => {
    const cacheDir = await tempDir()
    const warnings: string[] = []
    const events: string[] = []
    // A download time limit far beyond the test's: had the resolution waited for the mirror, the test would time out.
    const resolution = resolveWith({ mirror: stalled.url, cacheDir, timeoutMs: 10 * 60_000 }, warnings).then((roots) => {
      events.push(`resolved (mirror holding ${stalled.stalled()} requests)`)
      return roots
    })
    const held = stalled.waitForRequests(3).then(() => events.push(`mirror holding ${stalled.stalled()} requests`))
    const roots = await resolution
    assert.deepEqual(roots.map((r) => r.origin), ['bundled', 'bundled', 'bundled'])
    await held
    assert.deepEqual(events, ['resolved (mirror holding 0 requests)', 'mirror holding 3 requests'])
    assert.equal(backgroundTasks(), 1, 'one refresh is under way')
    assert.deepEqual(await readdir(cacheDir), [], 'nothing recorded yet')

    stalled.releaseStalled() // the network drops the held connections
    await settleBackgroundWork()
    assert.equal(warnings.filter((w) => /Using the bundled copy .*next download attempt is in a day/.test(w)).length, 3, warnings.join('\n'))
    const m = await marker(cacheDir)
    assert.deepEqual([...m.roots].sort(), DEFAULT_IDS)
    assert.ok(Math.abs(Date.parse(m.failedAt) - Date.now()) < DAY)
    assert.deepEqual(await readdir(cacheDir), [MARKER], 'the marker is the only file, written atomically (no temporary left)')
  })

  it('a new resolution (fresh memo, as in the next process) with the marker present makes zero requests', LIMIT, async () => {
    const cacheDir = await tempDir()
    await resolveWith({ mirror: stalled.url, cacheDir, timeoutMs: 10 * 60_000 })
    await stalled.waitForRequests(3)
    stalled.releaseStalled()
    await settleBackgroundWork()
    assert.ok((await readdir(cacheDir)).includes(MARKER))

    clearRootMemo()
    stalled.requests.clear()
    const warnings: string[] = []
    const roots = await resolveWith({ mirror: stalled.url, cacheDir, timeoutMs: 10 * 60_000 }, warnings)
    assert.ok(roots.every((r) => r.origin === 'bundled'))
    await settleBackgroundWork()
    assert.equal(stalled.total(), 0)
    assert.deepEqual(warnings, [])
  })

  it('a process exits without waiting for the refresh (its timer and sockets are unref\'d)', LIMIT, async () => {
    const cacheDir = await tempDir()
    const script = `
      const { resolveCertsSettings } = await import('./src/config/certs-settings.ts');
      const { resolveAzureRoots } = await import('./src/trust/store.ts');
      const roots = await resolveAzureRoots(resolveCertsSettings({ mirror: process.env.MIRROR, cacheDir: process.env.CACHE, timeoutMs: 600000 }, {}), { logger: { warn: (m) => console.error(m) }, now: () => new Date() });
      console.log(roots.map((r) => r.origin).join(','));`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: repo, env: { PATH: process.env['PATH'], MIRROR: stalled.url, CACHE: cacheDir }, timeout: 25_000 })
    // Had the refresh held the process, the child would have waited for the stalled mirror (10 minutes) and
    // been killed by the time limit above, failing this test.
    assert.equal(stdout.trim(), 'bundled,bundled,bundled')
  })
})

describe('the refresh marker', () => {
  async function failedOnce(mirror: string, now: Date): Promise<string> {
    const cacheDir = await tempDir()
    const settings = { mirror, cacheDir, timeoutMs: 10 * 60_000 }
    await resolveWith(settings, [], now)
    await stalled.waitForRequests(3)
    stalled.releaseStalled()
    await settleBackgroundWork()
    clearRootMemo()
    stalled.requests.clear()
    return cacheDir
  }

  it('expires after a day: the next refresh downloads, fills the cache and removes the marker', LIMIT, async () => {
    const then = new Date('2026-11-29T10:00:00Z')
    const cacheDir = await failedOnce(stalled.url, then)
    const sameSource = { mirror: stalled.url, cacheDir, timeoutMs: 10 * 60_000 }
    await resolveWith(sameSource, [], new Date(then.getTime() + DAY - 60_000))
    await settleBackgroundWork()
    assert.equal(stalled.total(), 0, 'less than a day later: no request')

    clearRootMemo()
    stalled.behaviour = 'good'
    try {
      const roots = await resolveWith(sameSource, [], new Date(then.getTime() + DAY + 60_000))
      assert.ok(roots.every((r) => r.origin === 'bundled'))
      await settleBackgroundWork()
      assert.equal(stalled.total(), 3, 'a day later: tried again')
      assert.equal((await readdir(cacheDir)).filter((f) => f.endsWith('.pem')).length, 3)
      assert.ok(!(await readdir(cacheDir)).includes(MARKER), 'a refresh that worked removes the marker')
      clearRootMemo()
      assert.ok((await resolveWith(sameSource, [], new Date(then.getTime() + DAY + 120_000))).every((r) => r.origin === 'cache'))
    } finally {
      stalled.behaviour = 'slow'
    }
  })

  it('does not hold back another mirror', LIMIT, async () => {
    const now = new Date()
    const cacheDir = await failedOnce(stalled.url, now)
    await resolveWith({ mirror: good.url, cacheDir }, [], now)
    await settleBackgroundWork()
    assert.equal(good.total(), 3, 'a marker for another source does not apply')
  })

  it('is ignored when corrupt or dated in the future, and obeyed when sound', LIMIT, async () => {
    const now = new Date()
    const cacheDir = await failedOnce(stalled.url, now)
    const sound = await readFile(join(cacheDir, MARKER), 'utf8')
    const future = JSON.stringify({ ...(JSON.parse(sound) as object), failedAt: new Date(now.getTime() + DAY).toISOString() })
    for (const [content, requests] of [['{not json', 3], [future, 3], [sound, 0]] as const) {
      await writeFile(join(cacheDir, MARKER), content)
      clearRootMemo()
      stalled.requests.clear()
      await resolveWith({ mirror: stalled.url, cacheDir, timeoutMs: 10 * 60_000 }, [], now)
      if (requests > 0) await stalled.waitForRequests(requests)
      stalled.releaseStalled()
      await settleBackgroundWork()
      assert.equal(stalled.total(), requests, content)
    }
  })
})

describe('source "download" keeps its strict meaning', () => {
  it('waits for the mirror and fails with CERT_UNAVAILABLE; no marker is written or consulted', LIMIT, async () => {
    const cacheDir = await tempDir()
    await writeFile(join(cacheDir, MARKER), JSON.stringify({ failedAt: new Date().toISOString(), source: 'anything', roots: [] }))
    const events: string[] = []
    const held = stalled.waitForRequests(3).then(() => events.push('mirror holding 3 requests'))
    const err = await expectAzureError(async () => {
      try {
        await resolveWith({ source: 'download', mirror: stalled.url, cacheDir, timeoutMs: 500 })
      } finally {
        events.push('rejected')
      }
    }, 'CERT_UNAVAILABLE')
    await held
    assert.deepEqual(events, ['mirror holding 3 requests', 'rejected'])
    assert.match(err.message, /no complete answer within 500 ms/)
    assert.deepEqual(await readdir(cacheDir), [MARKER])
  })
})
