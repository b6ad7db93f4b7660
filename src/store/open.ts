import type { Config } from '../config/schema'
import { SqliteStore } from './sqlite/store'
import type { Store } from './store'

/**
 * The store the configuration names: Postgres when `database_url` is set, else the SQLite file `db`. The
 * Postgres store (its client and drizzle dialect) is loaded only then: it would double a SQLite start's time.
 */
export async function openStore(config: Pick<Config, 'db' | 'database_url' | 'database_timeout_ms'>, onError?: (error: unknown) => void): Promise<Store> {
  if (!config.database_url) return SqliteStore.open(config.db, onError)
  const { PostgresStore } = await import('./postgres/store')
  return PostgresStore.open(config.database_url, onError, config.database_timeout_ms)
}
