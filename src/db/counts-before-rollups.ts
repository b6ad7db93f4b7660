import type { Database } from 'bun:sqlite'
import type { MigrationMeta } from 'drizzle-orm/migrator'
import { MAX_TOKEN_COUNT } from '../records/token-count'
import type { PendingMigration } from './pending-migrations'

/** drizzle/0004_usage_daily_trigger, by its place in the journal: it sums every usage row into the rollups. */
const ROLLUP_BACKFILL = 4

/**
 * Versions before 77360a0 recorded a provider's token count as it came (5e18, or 1e19 as a REAL). 0004's backfill
 * sums them with sum(), which raises "integer overflow" past 64 bits, and the gateway refused to start on such a
 * file. 0004 is shipped and never edited: when it is about to run, the counts it sums are first read as today's
 * gateway reads them, at most MAX_TOKEN_COUNT. (Rows recorded after it, until the cap, are 0027's.)
 */
export function capCountsBeforeRollups(client: Database, pending: readonly PendingMigration[], migrations: readonly MigrationMeta[]): void {
  if (!pending.some(({ migration, run }) => run && migration === migrations[ROLLUP_BACKFILL])) return
  // A new file: its usage table is yet to be made, with nothing in it.
  if (!client.query(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'usage'`).get()) return
  client.run(
    `UPDATE usage SET prompt_tokens = min(prompt_tokens, ${MAX_TOKEN_COUNT}), completion_tokens = min(completion_tokens, ${MAX_TOKEN_COUNT}),
       cached_tokens = min(cached_tokens, ${MAX_TOKEN_COUNT})
     WHERE prompt_tokens > ${MAX_TOKEN_COUNT} OR completion_tokens > ${MAX_TOKEN_COUNT} OR cached_tokens > ${MAX_TOKEN_COUNT}`,
  )
}
