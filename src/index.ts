/**
 * azure-pg-tls: node-postgres for Azure Database for PostgreSQL, with TLS verified every time.
 * @packageDocumentation
 */
export { createAzurePgClient, createAzurePgPool, resolveAzurePgConfig, AzurePgClient } from './client.js'
export type { AzurePgClientConfig, AzurePgSslConfig } from './client.js'
export type { AzurePgOptions, AzurePgPoolOptions, PasswordSource } from './options.js'
export { AzurePgError } from './errors.js'
export type { AzurePgErrorCode, TlsFailureReason } from './errors.js'
export type { Logger } from './log.js'
export { parseConnectionString } from './config/connection-string.js'
export type { ParsedConnectionString, ConnectionStringForm, StringParam } from './config/connection-string.js'
export { classifyAzureHost, azureLoginName } from './config/azure-host.js'
export type { AzureHostInfo, AzureCloud, AzureService, ServerType } from './config/azure-host.js'
export { AZURE_ROOTS } from './trust/roots.js'
export type { AzureRoot } from './trust/roots.js'
export { entraScopeFor, userFromToken } from './auth/entra.js'
export type { TokenCredential, AccessToken } from './auth/entra.js'
export type { CertsOptions, CertSource, FetchFunction, FetchResponse } from './trust/certs-options.js'
