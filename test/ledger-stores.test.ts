import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'
import { ledgerContract } from './support/ledger-contract'

// The same suite runs on Postgres in test/engines/ledger.engine.ts.
ledgerContract({
  name: 'SQLite',
  async open() {
    const dir = tempDir()
    const file = join(dir, 'ledger.db')
    const store = SqliteStore.open(file)
    return {
      store,
      other: async () => SqliteStore.open(file),
      async cleanup() {
        await store.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
})
