/**
 * azure-pg-tls: node-postgres for Azure Database for PostgreSQL, with TLS verified every time.
 *
 * The flow, one way: options, connection string and environment are resolved into settings
 * (`config/`), the settings are prepared into a pg configuration with Azure's trusted roots
 * (`connect/prepare.ts`, `trust/`, `auth/`), and a `pg.Client` or `pg.Pool` is built from it
 * (`connect/client.ts`). Failures are `AzurePgError`s explained by one table (`explain.ts`).
 * @packageDocumentation
 */
export { createAzurePgClient, createAzurePgPool, resolveAzurePgConfig, AzurePgClient } from './connect/client.js'
export type { AzurePgClientConfig, AzurePgSslConfig } from './connect/prepare.js'
export type { AzurePgPool } from './connect/client.js'
export type { FailoverEvent, FailoverSignal, ServerIdentity } from './connect/failover.js'
export type {
  AccessToken, AzureCloud, ChannelBinding, AzureHostInfo, AzurePgOptions, AzurePgPoolOptions, AzureService, CertSource, CertsOptions, LearnMode,
  FetchFunction, FetchResponse, Logger, PasswordSource, ServerType, TokenCredential,
} from './options.js'
export { AzurePgError } from './errors.js'
export { explainPgConnectError } from './explain-pg-error.js'
export type { PgConnectConfig } from './explain-pg-error.js'
export type { AzurePgErrorCode, ConnectionFailureReason, ConnectionPhase, FailureReason, TlsFailureReason } from './errors.js'
export { parseConnectionString } from './config/connection-string.js'
export type { ParsedConnectionString, ConnectionStringForm, StringParam } from './config/connection-string.js'
export { classifyAzureHost, azureLoginName, entraScopeFor } from './config/azure-host.js'
export { AZURE_ROOTS } from './trust/roots.js'
export type { AzureRoot } from './trust/roots.js'
export { userFromToken } from './auth/entra.js'
