// The ORM examples (examples/orm), each library as its users write it, run as separate processes on one
// lab server. Each must report pg_stat_ssl's ssl=true, and turn a wrong password into AUTH_FAILED.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { LOGINS, startLab, type Lab } from '../../lab/lab.js'
import { example, labDatabaseUrl, labEnv } from '../support/examples.js'

describe('ORM examples', () => {
  let lab: Lab
  let pgEnv: Record<string, string>
  before(async () => {
    lab = await startLab(['good'])
    pgEnv = labEnv(lab)
  })
  after(async () => { await lab?.stop() })

  // examples/orm: each library as its users write it, on the same lab server. Each file must report
  // pg_stat_ssl's ssl=true, and turn a wrong password into the AzurePgError AUTH_FAILED.
  const dbUrl = (sslmode: string): string => labDatabaseUrl(lab, sslmode)
  const ORMS: ReadonlyArray<readonly [file: string, label: string, env: () => Record<string, string>, wrong: () => Record<string, string>]> = [
    ['pg.ts', 'pg', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['knex.ts', 'knex', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['drizzle.ts', 'drizzle', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['kysely.ts', 'kysely', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['typeorm.ts', 'typeorm', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['typeorm-url.ts', 'typeorm \\(url\\)', () => ({ AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: dbUrl('require') }),
      () => ({ AZURE_PG_TLS_SERVER_TYPE: 'single', DATABASE_URL: dbUrl('require').replace(LOGINS.single.password, 'Wrong-Pa55') })],
    ['sequelize.ts', 'sequelize', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['mikro-orm.ts', 'mikro-orm', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
    ['prisma.ts', 'prisma \\(adapter-pg\\)', () => pgEnv, () => ({ ...pgEnv, PGPASSWORD: 'Wrong-Pa55' })],
  ]
  for (const [file, label, env, wrong] of ORMS) {
    it(`orm/${file} connects over verified TLS, and a wrong password is AUTH_FAILED`, async () => {
      const [ok, bad] = await Promise.all([example(`orm/${file}`, env()), example(`orm/${file}`, wrong())])
      assert.equal(ok.code, 0, ok.stdout + ok.stderr)
      assert.match(ok.stdout, new RegExp(`^${label}: ssl=true$`, 'm'))
      assert.equal(bad.code, 1, bad.stdout + bad.stderr)
      assert.match(bad.stderr, /^AUTH_FAILED: /m)
      assert.doesNotMatch(bad.stderr + bad.stdout, /Wrong-Pa55|single-Pa55word/)
    })
  }

})
