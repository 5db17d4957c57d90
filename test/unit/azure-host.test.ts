import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { azureLoginName, classifyAzureHost } from '../../src/index.js'
import { errorText, expectAzureError } from '../support/assert-error.js'

describe('classifyAzureHost', () => {
  const cases: Array<[string, ReturnType<typeof classifyAzureHost>]> = [
    ['mydemoserver.postgres.database.azure.com', { cloud: 'public', service: 'postgres', privateLink: false, serverName: 'mydemoserver' }],
    ['MyDemoServer.Postgres.Database.Azure.com.', { cloud: 'public', service: 'postgres', privateLink: false, serverName: 'mydemoserver' }],
    ['gov1.postgres.database.usgovcloudapi.net', { cloud: 'usgov', service: 'postgres', privateLink: false, serverName: 'gov1' }],
    ['cn1.postgres.database.chinacloudapi.cn', { cloud: 'china', service: 'postgres', privateLink: false, serverName: 'cn1' }],
    ['mydemoserver.privatelink.postgres.database.azure.com', { cloud: 'public', service: 'postgres', privateLink: true, serverName: 'mydemoserver' }],
    ['vnetsrv.private.postgres.database.azure.com', { cloud: 'public', service: 'postgres', privateLink: true, serverName: 'vnetsrv' }],
    ['gov2.privatelink.postgres.database.usgovcloudapi.net', { cloud: 'usgov', service: 'postgres', privateLink: true, serverName: 'gov2' }],
    ['c-mycluster.abc123xyz.postgres.cosmos.azure.com', { cloud: 'public', service: 'cosmos', privateLink: false, serverName: undefined }],
    ['c.mycluster.postgres.database.azure.com', { cloud: 'public', service: 'cosmos', privateLink: false, serverName: undefined }],
    ['localhost', undefined],
    ['postgres.database.azure.com', undefined],
    ['evil.postgres.database.azure.com.attacker.example', undefined],
  ]
  for (const [host, expected] of cases) {
    it(host, () => assert.deepEqual(classifyAzureHost(host), expected))
  }
})

describe('azureLoginName', () => {
  const host = 'mydemoserver.postgres.database.azure.com'
  const name = (user: string, serverType: 'auto' | 'single' | 'flexible', serverName: string | undefined = 'mydemoserver'): string =>
    azureLoginName({ user, serverName, serverType, host })

  it('appends @server on Single Server', () => assert.equal(name('myadmin', 'single'), 'myadmin@mydemoserver'))
  it('keeps an already suffixed name, in any case', () => {
    assert.equal(name('myadmin@mydemoserver', 'single'), 'myadmin@mydemoserver')
    assert.equal(name('myadmin@MyDemoServer', 'single'), 'myadmin@MyDemoServer')
  })
  it('appends the server after a whole Entra name', () => assert.equal(name('alice@contoso.com', 'single'), 'alice@contoso.com@mydemoserver'))
  it('sends the user as given on Flexible Server and in auto mode', () => {
    assert.equal(name('myadmin', 'flexible'), 'myadmin')
    assert.equal(name('myadmin', 'auto'), 'myadmin')
    assert.equal(name('alice@contoso.com', 'auto'), 'alice@contoso.com')
    assert.equal(name('myadmin@mydemoserver', 'flexible'), 'myadmin@mydemoserver')
  })
  it('refuses a suffix naming another server, in every mode', async () => {
    for (const mode of ['auto', 'single', 'flexible'] as const) {
      const err = await expectAzureError(() => name('myadmin@otherserver', mode), 'USER_SERVER_MISMATCH')
      assert.equal(err.message, 'The user name ends in "@<server>" naming another server than the host\'s, which is server "mydemoserver".')
      assert.equal(err.hint, 'Use the user name without its @ suffix, or with "@mydemoserver", or connect to the server the suffix names.')
    }
  })
  it('never repeats the suffix: it may be a password typed into the wrong field, or hold control characters', async () => {
    for (const user of ['myadmin@hunter2', 'myadmin@a\u001b[2Jforged\nline']) {
      const err = await expectAzureError(() => name(user, 'auto'), 'USER_SERVER_MISMATCH')
      assert.ok(!errorText(err).includes(user.slice(user.indexOf('@') + 1)), `the suffix of ${JSON.stringify(user)} is not in the error`)
    }
  })
  it('needs a server name for Single Server naming', async () => {
    await expectAzureError(() => azureLoginName({ user: 'myadmin', serverName: undefined, serverType: 'single', host: 'localhost' }), 'INVALID_CONFIG')
    assert.equal(azureLoginName({ user: 'myadmin@anything', serverName: undefined, serverType: 'auto', host: 'localhost' }), 'myadmin@anything')
  })
})
