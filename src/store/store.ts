import type { LedgerStore } from '../budget/ledger'
import type { Db } from '../db/open'
import type { WriteQueue } from '../db/write-queue'
import type * as tables from '../db/schema'
import type { RecordsReads } from '../records/records-reader'
import type { RequestLogEntry } from '../records/request-log'

/** A key as authentication needs it. */
export interface KeyLookupRow {
  id: string
  userId: string
  expiresAt: number | null
  revokedAt: number | null
  allowedModels: string[] | null
  rpmLimit: number | null
  userField: 'reject' | 'tag' | null
  clampOutput: boolean | null
}

/** A price row as stored (snake_case, as both engines' raw queries return it). */
export interface PriceRow {
  id: number
  model: string
  input_per_million: number
  output_per_million: number
  cached_input_per_million: number | null
  per_request: number | null
  cache_write_per_million: number | null
  cache_write_1h_per_million: number | null
  audio_input_per_million: number | null
  audio_output_per_million: number | null
  /** JSON text (SQLite) or already parsed (Postgres jsonb). */
  server_tools: string | Record<string, number> | null
  service_tiers: string | Record<string, number> | null
  created_at: number
  source: string | null
  deleted_at: number | null
}

export type NewPriceRow = Omit<PriceRow, 'id' | 'deleted_at' | 'server_tools' | 'service_tiers'> & {
  server_tools: string | null
  service_tiers: string | null
}

/** The price table, for the price book (src/pricing/price-book.ts): the rules about prices live there. */
export interface PriceRows {
  /** The newest row of each model that has taken effect at `now`, unless that row was deleted. */
  current(now: number): Promise<PriceRow[]>
  /** When the next scheduled row takes effect, if any. */
  nextChange(now: number): Promise<number | null>
  insert(row: NewPriceRow): Promise<PriceRow>
  /** Marks the row in force deleted (and cancels the rows scheduled after now); returns the row that was in force. */
  unprice(model: string, now: number): Promise<PriceRow | null>
  history(model: string | null, beforeId: number | null, limit: number, offset: number): Promise<Array<PriceRow & { ended_at: number | null }>>
  record(id: number): Promise<(PriceRow & { ended_at: number | null }) | null>
  countOf(model: string): Promise<number>
}

export interface StoredResponseRow {
  id: string
  kind: 'response' | 'conversation'
  user_id: string
  provider: string
  model: string
  context_tokens: number | null
}

/**
 * Where everything the gateway keeps lives: one SQLite file (the default) or one Postgres database shared
 * by every replica (TOLLGATE_DATABASE_URL). The rules (budgets, prices, keys, who pays) are written once,
 * above this; a store only keeps rows and the locks that make several processes agree.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /**
   * drizzle over the store's engine, for the admin routes' queries. It is typed as the SQLite builder, and
   * the code that uses it keeps to what both dialects' builders share: awaited select / insert / update /
   * delete (with `returning`), `onConflictDoNothing`; never `.get()`, `.all()`, `.run()` or a transaction.
   */
  readonly db: Db
  /** The tables for `db`: the same names and fields in both dialects. */
  readonly tables: typeof tables
  readonly ledger: LedgerStore
  readonly prices: PriceRows
  /**
   * The records queries (usage lists, totals, summary, CSV, request log, console aggregates): on SQLite a
   * worker with its own read-only connection, so a long scan never holds the request thread; on Postgres the pool.
   */
  readonly records: RecordsReads
  /** The key with this secret hash; the SQLite store answers at once (the hot path's cache miss). */
  findKey(hash: string): KeyLookupRow | undefined | Promise<KeyLookupRow | undefined>
  /**
   * Applies a key's changes; when it gains a ceiling, in the same transaction, the holds already open on it
   * start counting against it (a key without a ceiling is not debited). Returns the updated row.
   */
  updateKey(id: string, changes: Partial<typeof tables.apiKeys.$inferInsert>, takeOverHolds: boolean): Promise<typeof tables.apiKeys.$inferSelect>
  appendRequestLog(entry: RequestLogEntry): void
  /** Deletes request-log rows older than `cutoff`; returns how many. */
  pruneRequestLog(cutoff: number): Promise<number>
  recordResponse(row: StoredResponseRow, now: number): void
  findResponse(id: string, kind: StoredResponseRow['kind']): Promise<StoredResponseRow | null>
  forgetResponse(id: string): void
  /** Open holds in the database, all processes: count and micro-USD. */
  openReservations(): Promise<{ n: number; amount: number }>
  /** Resolves when the database answers; rejects otherwise. */
  ping(): Promise<void>
  /**
   * This process's SQLite database and write queue, for what is not on Postgres yet (the alert outbox, console
   * sessions, refusal counts): the store's own file on SQLite; a private in-memory database on Postgres (which
   * refuses configured alert webhooks at startup).
   */
  readonly local: { db: Db; writes: WriteQueue }
  /** Writes everything queued and closes the connections. */
  close(): Promise<void>
}
