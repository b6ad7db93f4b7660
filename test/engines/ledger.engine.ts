import { afterAll, beforeAll } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { ledgerContract } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

// The suite test/ledger-stores.test.ts runs on SQLite, here on a real Postgres: a fresh database per test.
let pg: TestPostgres
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

ledgerContract({
  name: 'Postgres',
  async open() {
    const url = await pg.database(`ledger_${++n}`)
    const store = await PostgresStore.open(url)
    return {
      store,
      other: () => PostgresStore.open(url),
      cleanup: () => store.close(),
    }
  },
})
