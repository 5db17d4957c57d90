// Which environment variables describe the server. PG* variables, Azure Service Connector's
// AZURE_POSTGRESQL_* variables and a connection string in AZURE_POSTGRESQL_CONNECTIONSTRING or
// DATABASE_URL are three ways of naming one server; a process can carry more than one (a developer's
// PGUSER beside an App Service's Service Connector). Taking the host from one and the password from
// another would send one server's credentials to another, so exactly one of them is read.
import { AzurePgError, invalidConfig } from '../errors.js'
import { parseConnectionString, type ParsedConnectionString } from './connection-string.js'
import { field, firstSet } from './fields.js'

type Env = Readonly<Record<string, string | undefined>>

/** The environment's description of the server, as chosen by {@link chooseEnvServer}. */
export type EnvServerSource =
  | { readonly kind: 'pg' }
  | { readonly kind: 'service-connector' }
  | { readonly kind: 'string'; readonly variable: string; readonly parsed: ParsedConnectionString }

const PG: EnvServerSource = Object.freeze({ kind: 'pg' })
const SERVICE_CONNECTOR: EnvServerSource = Object.freeze({ kind: 'service-connector' })

function serviceConnectorHost(): string {
  const name = field('host').serviceConnector
  if (name === undefined) throw new Error('azure-pg-tls: the host field has no Service Connector variable')
  return name
}

/**
 * Picks the environment source of the server's fields (host, port, database, user, password), first
 * that names a host: PG* (`PGHOST`), Service Connector (`AZURE_POSTGRESQL_HOST`), then a connection
 * string (`AZURE_POSTGRESQL_CONNECTIONSTRING`, then `DATABASE_URL`). When the options or the
 * connectionString option already name the host, only PG* fill their gaps, as in libpq: the other
 * sources describe a whole server, possibly another one. Throws `INVALID_CONFIG` for a malformed string.
 */
export function chooseEnvServer(explicitHost: boolean, env: Env): EnvServerSource {
  if (explicitHost || firstSet(field('host').env ?? [], env) !== undefined) return PG
  if (firstSet([serviceConnectorHost()], env) !== undefined) return SERVICE_CONNECTOR
  const string = firstSet(field('connectionString').env ?? [], env)
  if (string === undefined) return PG
  try {
    return { kind: 'string', variable: string.name, parsed: parseConnectionString(string.value) }
  } catch (err) {
    // The parser names the offending key, never a value; say which variable held the string.
    if (!(err instanceof AzurePgError)) throw err
    throw invalidConfig(`Environment variable ${string.name}: ${err.message}`, err.hint, { cause: err })
  }
}

/** Every place a host is looked for, in order, for the message when none is found. */
export function hostSourcesLooked(): string[] {
  return ['option "host"', 'the connectionString option', ...(field('host').env ?? []), serviceConnectorHost(), ...(field('connectionString').env ?? [])]
}
