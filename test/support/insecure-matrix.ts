import type { AzurePgOptions } from '../../src/index.js'

const HOST = 'mydemoserver.postgres.database.azure.com'

/**
 * Every way a user might ask for a connection without verified TLS, each aimed at 127.0.0.1:port, so
 * a test can prove the refusal happens before any socket is opened. `extra` is added to every option
 * set (e.g. a connection time limit).
 */
export function insecureSettings(port: number, extra: AzurePgOptions = {}): Array<{ name: string; options: AzurePgOptions }> {
  return matrix(port).map(({ name, options }) => ({ name, options: { ...extra, ...options } }))
}

function matrix(port: number): Array<{ name: string; options: AzurePgOptions }> {
  const base = { host: HOST, hostaddr: '127.0.0.1', port, user: 'myadmin', password: 'pw', env: {} }
  const str = (connectionString: string): AzurePgOptions => ({ connectionString, env: {} })
  const kv = `host=${HOST} hostaddr=127.0.0.1 port=${port} user=myadmin password=pw`
  const uri = `postgresql://myadmin:pw@${HOST}:${port}/postgres?hostaddr=127.0.0.1`
  const ado = `Server=${HOST};Port=${port};User Id=myadmin;Password=pw;`
  const jdbc = `jdbc:postgresql://${HOST}:${port}/postgres?user=myadmin&password=pw`
  return [
    ...['disable', 'allow', 'prefer', 'no-verify'].map((sslmode) => ({ name: `option sslmode=${sslmode}`, options: { ...base, sslmode } })),
    { name: 'URI sslmode=disable', options: str(`${uri}&sslmode=disable`) },
    { name: 'URI sslmode=no-verify', options: str(`${uri}&sslmode=no-verify`) },
    { name: 'URI ssl=false', options: str(`${uri}&ssl=false`) },
    { name: 'key=value sslmode=prefer', options: str(`${kv} sslmode=prefer`) },
    { name: 'key=value sslmode=allow', options: str(`${kv} sslmode=allow`) },
    { name: 'ADO.NET Ssl Mode=Disable', options: { ...str(`${ado}Ssl Mode=Disable;`), hostaddr: '127.0.0.1' } },
    { name: 'ADO.NET Ssl Mode=Prefer', options: { ...str(`${ado}Ssl Mode=Prefer;`), hostaddr: '127.0.0.1' } },
    { name: 'ADO.NET Trust Server Certificate=true', options: { ...str(`${ado}Ssl Mode=Require;Trust Server Certificate=true;`), hostaddr: '127.0.0.1' } },
    { name: 'JDBC sslmode=allow', options: { ...str(`${jdbc}&sslmode=allow`), hostaddr: '127.0.0.1' } },
    { name: 'JDBC ssl=false', options: { ...str(`${jdbc}&ssl=false`), hostaddr: '127.0.0.1' } },
    { name: 'JDBC NonValidatingFactory', options: { ...str(`${jdbc}&ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory`), hostaddr: '127.0.0.1' } },
    { name: 'env PGSSLMODE=disable', options: { ...base, env: { PGSSLMODE: 'disable' } } },
    { name: 'env PGSSLMODE=no-verify', options: { ...base, env: { PGSSLMODE: 'no-verify' } } },
    { name: 'env PGSSLMODE=prefer via string-less env config', options: { env: { PGHOST: HOST, PGHOSTADDR: '127.0.0.1', PGPORT: String(port), PGUSER: 'u', PGSSLMODE: 'prefer' } } },
    { name: 'ssl: false', options: { ...base, ssl: false } },
    { name: 'ssl.rejectUnauthorized: false', options: { ...base, ssl: { rejectUnauthorized: false } } },
    { name: 'ssl.checkServerIdentity', options: { ...base, ssl: { checkServerIdentity: () => undefined } } },
    { name: 'ssl.minVersion TLSv1', options: { ...base, ssl: { minVersion: 'TLSv1' } } },
    { name: 'ssl.minVersion TLSv1.1', options: { ...base, ssl: { minVersion: 'TLSv1.1' } } },
    { name: 'ssl.maxVersion TLSv1.1', options: { ...base, ssl: { maxVersion: 'TLSv1.1' } } },
    { name: 'ssl.secureProtocol TLSv1_method', options: { ...base, ssl: { secureProtocol: 'TLSv1_method' } } },
    { name: 'Unix-socket host', options: { ...base, host: '/var/run/postgresql', hostaddr: undefined } },
    { name: 'URI with a Unix-socket host', options: str(`postgresql://myadmin@%2Fvar%2Frun%2Fpostgresql:${port}/postgres`) },
    { name: 'option sslmode=verify-full beaten by ssl: false', options: { ...base, sslmode: 'verify-full', ssl: false } },
  ]
}
