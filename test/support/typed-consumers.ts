// Typed consumer programs for azure-pg-tls/pg: "change one import line" has to hold for TypeScript users
// too. Each program is written once and compiled twice, importing 'pg' (the control: it must compile, or
// the program proves nothing) and importing 'azure-pg-tls/pg'; only the module specifier differs.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** A way TypeScript can resolve the package, as a consumer project configures it. */
export interface TypedMode {
  readonly name: string
  /** The `type` of the consumer's package.json, which decides ESM or CommonJS under node16. */
  readonly packageType: 'module' | 'commonjs'
  readonly compilerOptions: Readonly<Record<string, string>>
}

/** The resolutions the package supports, the ones arethetypeswrong checks. */
export const TYPED_MODES: readonly TypedMode[] = [
  { name: 'node10', packageType: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10' } },
  { name: 'node16 (ESM)', packageType: 'module', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'node16 (CommonJS)', packageType: 'commonjs', compilerOptions: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'bundler', packageType: 'module', compilerOptions: { module: 'esnext', moduleResolution: 'bundler' } },
]

/** Code written against `pg` as `import pg from 'pg'` gives it: types and values through `pg.`. */
const BODY = `type Row = { id: number }
export async function first(pool: pg.Pool): Promise<pg.QueryResult<Row>> {
  const client: pg.PoolClient = await pool.connect()
  try {
    return await client.query<Row>('SELECT 1 AS id')
  } finally {
    client.release()
  }
}
export const config: pg.ClientConfig = { host: 'db.example', user: 'app', application_name: 'typed' }
export const client: pg.Client = new pg.Client(config)
export const pool: pg.Pool = new pg.Pool({ max: 1 } satisfies pg.PoolConfig)
export function isServerError(err: unknown): err is pg.DatabaseError {
  return err instanceof pg.DatabaseError
}
// pg's default row type is \`any\`: untyped results can be handed to typed code.
export function untyped(result: pg.QueryResult): Row[] {
  return result.rows
}
export function describe(field: pg.FieldDef, note: pg.Notification, row: pg.QueryResultRow, query: pg.QueryConfig): string {
  return field.name + note.channel + String(row['id']) + query.text
}
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value))
// Handed to a library typed for node-postgres's own classes.
function takesPg(p: import('pg').Pool, c: import('pg').Client): void {
  void p
  void c
}
takesPg(pool, client)
`

/**
 * For the drop-in only: its \`pg.Pool\` and \`pg.Client\` types are the verified classes that run (not pg's
 * under the same name), the same by every import form, and \`pg.ClientConfig\` takes the SDK's options.
 */
export function verifiedTypes(specifier: string): string {
  const spec = JSON.stringify(specifier)
  return `import pg, { Client, Pool, type ClientConfig, type PoolConfig } from ${spec}
import * as ns from ${spec}
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
export const same: [
  Same<pg.Pool, InstanceType<typeof pg.Pool>>, Same<pg.Client, InstanceType<typeof pg.Client>>,
  Same<pg.Pool, Pool>, Same<ns.Pool, Pool>, Same<pg.Client, Client>, Same<ns.Client, Client>,
  Same<pg.ClientConfig, ClientConfig>, Same<ns.ClientConfig, ClientConfig>, Same<pg.PoolConfig, PoolConfig>,
  Same<pg.Client, import('pg').Client>,
] = [true, true, true, true, true, true, true, true, true, false]
export const config: pg.ClientConfig = { host: 'db.example', sslmode: 'verify-full', sslrootcert: 'system' }
export const client: pg.Client = new pg.Client(config)
`
}

/** The names BODY uses through `pg.`, for the named-import form of the same code. */
const BODY_NAMES = {
  values: ['Client', 'DatabaseError', 'Pool', 'types'],
  types: ['ClientConfig', 'FieldDef', 'Notification', 'PoolClient', 'PoolConfig', 'QueryConfig', 'QueryResult', 'QueryResultRow'],
}

/** The type names @types/pg offers as `pg.X`: after `import pg from 'pg'` as ESM, and in its CommonJS declarations. */
export interface PgTypeNames {
  /** The namespace merged with index.d.mts's default export. */
  readonly esmDefault: readonly string[]
  /** What index.d.ts exports with a type meaning (the CommonJS default, `import * as`, `import =`). */
  readonly module: readonly string[]
}

/** Reads the type names from the consumer's installed @types/pg, so a newer @types/pg is covered as it is. */
export async function pgTypeNames(app: string): Promise<PgTypeNames> {
  const dir = join(app, 'node_modules', '@types', 'pg')
  const mts = await readFile(join(dir, 'index.d.mts'), 'utf8')
  const cts = await readFile(join(dir, 'index.d.ts'), 'utf8')
  const block = /declare namespace PG \{([^}]*)\}/.exec(mts)?.[1] ?? ''
  const esmDefault = [...block.matchAll(/^\s*type (\w+)/gm)].map((m) => m[1] ?? '')
  const module = [
    ...[...cts.matchAll(/^export (?:declare )?(?:interface|type|class) (\w+)/gm)].map((m) => m[1] ?? ''),
    ...[...cts.matchAll(/^export \{ (\w+) \}/gm)].map((m) => m[1] ?? ''),
  ]
  return { esmDefault: [...new Set(esmDefault)].sort(), module: [...new Set(module)].sort() }
}

/** Type arguments for the names that have no default for them. */
const REQUIRED_ARGUMENTS: Readonly<Record<string, string>> = { QueryConfigValues: '<unknown[]>' }

/** A program that names every type in `names` through `pg.`. */
function everyName(names: readonly string[]): string {
  return `export type Every = [\n${names.map((n) => `  pg.${n}${REQUIRED_ARGUMENTS[n] ?? ''},\n`).join('')}]\n`
}

/** The consumer's source files for one mode and one module: file name (without extension) → text. */
export function typedPrograms(mode: TypedMode, specifier: string, names: PgTypeNames): Record<string, string> {
  const spec = JSON.stringify(specifier)
  const commonJs = mode.packageType === 'commonjs'
  const named = `import { ${BODY_NAMES.values.join(', ')}, ${BODY_NAMES.types.map((t) => `type ${t}`).join(', ')} } from ${spec}\n`
  const programs: Record<string, string> = {
    'default-import': `import pg from ${spec}\n${BODY}`,
    'namespace-import': `import * as pg from ${spec}\n${BODY}`,
    'named-imports': named + BODY.replaceAll(/\bpg\.(?=\w)/g, ''),
    // In a CommonJS project pg's default import is its whole CommonJS module, not index.d.mts's namespace.
    'every-type-default': `import pg from ${spec}\n${everyName(commonJs ? names.module : names.esmDefault)}`,
    'every-type-namespace': `import * as pg from ${spec}\n${everyName(names.module)}`,
  }
  if (commonJs) {
    programs['import-require'] = `import pg = require(${spec})\n${BODY}`
    programs['every-type-require'] = `import pg = require(${spec})\n${everyName(names.module)}`
  }
  return programs
}
