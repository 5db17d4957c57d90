// An ES module application under OpenTelemetry (run with --import ./setup.mjs): the built package through its
// exports map, every way in, the result as JSON on stdout.
import { createRequire } from 'node:module'
import pg from 'pg'
import Cursor from 'pg-cursor'
import QueryStream from 'pg-query-stream'
import knex from 'knex'
import * as sdk from 'azure-pg-tls'
import dropIn from 'azure-pg-tls/pg'

const require = createRequire(import.meta.url)
const run = require('./scenarios.cjs')
const KnexPg = require('knex/lib/dialects/postgres/index.js')
const { loaded } = { loaded: import.meta.resolve('azure-pg-tls') }
console.log(JSON.stringify({ loaded, ...(await run({ sdk, dropIn, pg, Cursor, QueryStream, knex, KnexPg })) }))
