// The CommonJS form of probe.mjs (run with --require ./setup.cjs).
'use strict'
const pg = require('pg')
const Cursor = require('pg-cursor')
const QueryStream = require('pg-query-stream')
const knex = require('knex')
const sdk = require('azure-pg-tls')
const dropIn = require('azure-pg-tls/pg')
const KnexPg = require('knex/lib/dialects/postgres/index.js')
const run = require('./scenarios.cjs')

run({ sdk, dropIn, pg, Cursor, QueryStream, knex, KnexPg })
  .then((out) => console.log(JSON.stringify({ loaded: require.resolve('azure-pg-tls'), ...out })))
  .catch((err) => { console.error(err); process.exitCode = 1 })
