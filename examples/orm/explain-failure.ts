// What every ORM example does when the connection fails: find the AzurePgError behind the ORM's own
// wrapper (Sequelize's `parent`, TypeORM's and Prisma's `cause`), print its code, message and fix, exit 1.
import { AzurePgError } from 'azure-pg-tls'

/** The AzurePgError an ORM error carries, directly or through `cause`, `parent` or `original`. */
export function azurePgErrorIn(err: unknown, depth = 0): AzurePgError | undefined {
  if (err instanceof AzurePgError) return err
  if (typeof err !== 'object' || err === null || depth > 5) return undefined
  const e = err as { cause?: unknown; parent?: unknown; original?: unknown }
  for (const inner of [e.cause, e.parent, e.original]) {
    const found = azurePgErrorIn(inner, depth + 1)
    if (found !== undefined) return found
  }
  return undefined
}

/** Prints `CODE: message` and `fix: hint` (or the unexplained error) and exits with status 1. */
export function exitWithExplanation(err: unknown): never {
  const azure = azurePgErrorIn(err)
  console.error(azure === undefined ? `not an AzurePgError: ${String(err)}` : `${azure.code}: ${azure.message}\nfix: ${azure.hint}`)
  process.exit(1)
}
