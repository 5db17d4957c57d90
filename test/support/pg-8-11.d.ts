// pg 8.11 (a devDependency under the alias `pg-8-11`) stands for the other copy of pg an ORM brings:
// its API is pg's, typed as the current pg's (the tests use only what both have).
declare module 'pg-8-11' {
  import pg from 'pg'
  export default pg
}
