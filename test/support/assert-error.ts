import assert from 'node:assert/strict'
import { AzurePgError, createAzurePgClient, type AzurePgErrorCode, type AzurePgOptions } from '../../src/index.js'

/** Runs `fn` and asserts it fails with an AzurePgError of `code`; returns the error for more checks. */
export async function expectAzureError(fn: () => unknown, code: AzurePgErrorCode): Promise<AzurePgError> {
  let caught: unknown
  try {
    await fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught !== undefined, `expected an AzurePgError ${code}, but nothing was thrown`)
  assert.ok(caught instanceof AzurePgError, `expected an AzurePgError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  assert.ok(caught.hint.length > 0, 'every AzurePgError carries a hint')
  return caught
}

/** The synchronous twin of {@link expectAzureError}, for the pure stages: `fn` must throw at once. */
export function expectAzureErrorSync(fn: () => unknown, code?: AzurePgErrorCode): AzurePgError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught instanceof AzurePgError, `expected an AzurePgError, got ${String(caught)}`)
  if (code !== undefined) assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`)
  return caught
}

/** The AzurePgError a new client's connect() fails with (the client ended after it); fails the test if it connects. */
export async function connectError(opts: AzurePgOptions, within: <T>(p: Promise<T>, what: string) => Promise<T>): Promise<AzurePgError> {
  const c = await createAzurePgClient(opts)
  const err = await within(c.connect().then(() => undefined, (e: unknown) => e), 'connect')
  await within(c.end(), 'end')
  assert.ok(err instanceof AzurePgError, `expected an AzurePgError, got ${String(err)}`)
  return err
}

/** Every piece of text an error exposes: message, hint, stack and the whole cause chain. */
export function errorText(err: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  let e: unknown = err
  while (e !== undefined && e !== null && !seen.has(e)) {
    seen.add(e)
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? '', String((e as { hint?: unknown }).hint ?? ''), JSON.stringify(e))
      e = e.cause
    } else {
      parts.push(String(e))
      e = undefined
    }
  }
  return parts.join('\n')
}
