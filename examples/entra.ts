// Passwordless sign-in with Microsoft Entra ID: no password anywhere, a fresh token for every new
// connection. Works with a managed identity (App Service, Functions, Container Apps, AKS workload
// identity, VMs) and on a developer machine after `az login`.
//
//   npm install @azure/identity
//   PGHOST=mydemoserver.postgres.database.azure.com node --import tsx examples/entra.ts
//
// The server must know the principal: as an Entra admin, run
//   SELECT * FROM pgaadauth_create_principal('<name>', false, false);
import { createAzurePgPool, AzurePgError } from 'azure-pg-tls'

try {
  // entra: true uses DefaultAzureCredential, which tries managed identity, workload identity, the
  // environment and `az login` in turn. For one specific identity, pass a credential instead:
  //   import { ManagedIdentityCredential } from '@azure/identity'
  //   entra: new ManagedIdentityCredential({ clientId: process.env.AZURE_CLIENT_ID })
  // PGUSER is optional: without it, the user is the token's (UPN, or the managed identity's app id).
  const pool = await createAzurePgPool({ entra: true, max: 5 })
  const { rows } = await pool.query<{ who: string }>('SELECT current_user AS who')
  console.log(`signed in with Entra ID as ${rows[0]?.who ?? '?'}`)
  await pool.end()
} catch (err) {
  if (!(err instanceof AzurePgError)) throw err
  console.error(`${err.code}: ${err.message}\nfix: ${err.hint}`)
  process.exitCode = 1
}
