import type { LedgerStore } from '../budget/ledger'
import type { BudgetPeriod } from '../budget/period'
import type { Db } from '../db/open'
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
  image_output_per_million: number | null
  /** JSON text (SQLite) or already parsed (Postgres jsonb). */
  server_tools: string | Record<string, number> | null
  service_tiers: string | Record<string, number> | null
  long_context_above_tokens: number | null
  media_part_tokens: number | null
  context_window_tokens: number | null
  template_overhead_tokens: number | null
  created_at: number
  source: string | null
  deleted_at: number | null
}

export type NewPriceRow = Omit<PriceRow, 'id' | 'deleted_at' | 'server_tools' | 'service_tiers'> & {
  server_tools: string | null
  service_tiers: string | null
}

/** What unpricing a model did: the row that was in force (if any), and how many scheduled rows it cancelled. */
export interface Unpriced<Row> {
  inForce: Row | null
  cancelledScheduled: number
}

/** The row in force a price change was based on (a read-modify-write: `tollgate prices set`, the console's form). */
interface PriceBase {
  /** Its id; null for a model that had no price in force. */
  id: number | null
  /** When the row is written: the row in force then must be that one. */
  at: number
  /** Nor may a row written after it (by a greater id; any row when `id` is null) start after `at` and by this time. */
  startsBy: number
}

/** An unpricing (PriceRows.unprice), made on a clock that may be ahead of the other processes' by a few seconds. */
interface PriceUnpricing {
  /** When it is made: the deleted rows' `deleted_at`; rows starting after it are cancelled. */
  at: number
  /** The row in force at this time, as a clock that far behind finds it, is deleted too, and so are those started since. */
  inForceFrom: number
}

/** The price table, for the price book (src/pricing/price-book.ts): the rules about prices live there. */
/** One model's row in force (null when it is unpriced) and the start of its next scheduled row (null when none is). */
export interface ModelPriceRow {
  inForce: PriceRow | null
  nextStart: number | null
}

export interface PriceRows {
  /** The newest row of each model that has taken effect at `now`, unless that row was deleted. */
  current(now: number): Promise<PriceRow[]>
  /** When the next scheduled row takes effect, if any. */
  nextChange(now: number): Promise<number | null>
  /**
   * A page of `current`, by model as the database orders text: the models after `after` ('' for the first), at most
   * `limit` past the first `offset`. Reads the page, not every model.
   */
  page(after: string, limit: number, offset: number, now: number): Promise<PriceRow[]>
  /** `current` for one model, and when the next row scheduled for it takes effect, if any. */
  ofModel(model: string, now: number): Promise<ModelPriceRow>
  /**
   * Inserts the row; with `basedOn`, only if the model's row in force at `basedOn.at` is still `basedOn.id` (null:
   * none is) and no row written since starts by `basedOn.startsBy`, checked and inserted as one step against every
   * other price write of the model, on any process. Returns null, writing nothing, when it is not.
   */
  insert(row: NewPriceRow, basedOn?: PriceBase): Promise<PriceRow | null>
  /**
   * Marks deleted the rows in force from `inForceFrom` to `at` and cancels the rows scheduled after it: returns the
   * latest to start of those in force (null: none was) and how many were cancelled.
   */
  unprice(model: string, unpricing: PriceUnpricing): Promise<Unpriced<PriceRow>>
  history(model: string | null, beforeId: number | null, limit: number, offset: number): Promise<Array<PriceRow & { ended_at: number | null }>>
  record(id: number): Promise<(PriceRow & { ended_at: number | null }) | null>
  countOf(model: string): Promise<number>
}

export interface StoredResponseRow {
  id: string
  kind: 'response' | 'conversation' | 'item' | 'container' | 'audio'
  user_id: string
  provider: string
  model: string
  context_tokens: number | null
  media_parts: number | null
  context_bytes: number | null
  /** Whether the context holds audio, which the provider reads again as audio input; null when not known (an older row): it may. */
  holds_audio: boolean | null
  /** Written, not read back: an item's response, when the item goes with it (see the schema's `expires_with`). */
  expires_with?: string | null
}

/** What a turn adds to a conversation: tokens, media parts and bytes. */
export interface StoredGrowth {
  tokens: number
  mediaParts: number
  bytes: number
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
   * A write is made inside `write`, through the builder it is given.
   */
  readonly db: Db
  /**
   * Runs one write made through the builder it is given (a single statement: it may run again). On SQLite another
   * process's write lock is waited for on the event loop, up to the busy timeout, then it rejects with SQLITE_BUSY
   * (503 database_busy). On Postgres it is a transaction within the deadline: Postgres waits for its locks itself,
   * and a statement answered after its caller was refused (503) is rolled back, not committed behind its back.
   */
  write<T>(run: (db: Db) => Promise<T>): Promise<T>
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
   * Inserts a key, in one write that finds its user there: returns undefined, inserting nothing, when the user
   * is gone (deleted since the caller looked, by another process too; its keys go with it).
   */
  insertKey(row: typeof tables.apiKeys.$inferInsert): Promise<typeof tables.apiKeys.$inferSelect | undefined>
  /**
   * Applies a key's changes; when it is given a ceiling, in the same transaction, the holds open on it that
   * no ceiling carried yet start counting against it (a key without a ceiling is not debited; one that had a
   * ceiling has none such). Returns the updated row, or undefined when there is no such key (any more).
   */
  updateKey(id: string, changes: Partial<typeof tables.apiKeys.$inferInsert>, takeOverHolds: boolean, now?: number): Promise<typeof tables.apiKeys.$inferSelect | undefined>
  /**
   * Revokes the key at `now` unless it is revoked already and, in the same transaction, writes `event(row)` into
   * the alert outbox: the event is raised exactly when the revocation commits, answered or not. Returns the row it
   * revoked, or undefined when it revoked none (no such key, or revoked before).
   */
  revokeKey(id: string, now: number, event: (row: typeof tables.apiKeys.$inferSelect) => OutboxEntry): Promise<typeof tables.apiKeys.$inferSelect | undefined>
  /**
   * Applies a user's changes; returns the updated row and whether the user was blocked just before, read under
   * the update's lock (of concurrent updates that block a user, exactly one finds it not blocked), or undefined
   * when there is no such user. Whether `budgetPeriod` changes the row's kind of period is judged against the row
   * under that lock too (newPeriodKind): when it does, the user is put in the new kind's period under way at `now`
   * and `spend` becomes what the user's usage rows dated at or after its start cost, counted under the lock
   * settlements take on the row: a settlement committed while the change was on its way (its clock read, its write
   * waiting for a connection or a lock) and dated in the new period counts in it, so spend stays what the usage
   * rows since period_start cost. Otherwise changes setting a budget on a row whose period had ended by `now` roll
   * it first (rollForNewBudget), so that the ended period keeps the budget it ended under. When the update blocks the user
   * (it was not blocked before), `blocked(row)` is written into the alert outbox in the same transaction: the event
   * is raised exactly when the block commits, answered or not.
   */
  updateUser(
    id: string,
    changes: Partial<typeof tables.users.$inferInsert>,
    blocked?: (row: typeof tables.users.$inferSelect) => OutboxEntry,
    now?: number,
  ): Promise<UpdatedUser | undefined>
  /**
   * Deletes the user, and its keys with it (foreign key cascade), unless it has a request in flight
   * (userWithoutHolds), judged with every hold committed before it in sight: a reservation locks the user's
   * row, and is waited for. Returns whether it was deleted (false: a request in flight, or no such user).
   * Its stored ids go first, then its keys (with their console sessions), MAINTENANCE_BATCH at a time
   * (deleteInBatches), when it has none in flight then: an agent's kept conversation items can be millions, an app
   * minting a key per customer as many keys, and a cascade over them one statement of seconds. A request begun
   * meanwhile keeps the user (false), without the keys deleted so far.
   */
  deleteUser(id: string): Promise<boolean>
  /**
   * Request-log rows appended here (and refusal aggregates' writes) are queued, and written in the background. While
   * the database takes none, at most MAX_QUEUED_LOG_ROWS are kept, the newest: the others are dropped and counted
   * (droppedWhileUnwritable), as are those a store does not send again after a failed write (Postgres).
   */
  appendRequestLog(entry: RequestLogEntry): void
  /** Background rows dropped so far for the database taking none (QueueCap), by kind: /metrics. */
  droppedWhileUnwritable(): { logRows: number; refusalCounts: number }
  /**
   * Writes the requests `a` counted since the last call into its row (made by the first call): on Postgres
   * every replica's counts of one aggregate add up in one row (an upsert on its key).
   */
  storeRefusals(a: RefusalAggregate): void
  /** Deletes request-log rows older than `cutoff` (in batches, until `stopped`); returns how many. */
  pruneRequestLog(cutoff: number, stopped?: () => boolean): Promise<number>
  /**
   * Records who owns a stored id and its size (tokens, media parts and bytes): set, or with `growBy` (a
   * conversation, which every turn adds to, some at once) grown by that much — never below the row's own
   * `context_tokens`, `media_parts` and `context_bytes`, a size unknown stays unknown, and the row takes the turn's model, which sized it. Audio,
   * once recorded, stays recorded. The first user to record an id keeps it.
   */
  recordResponse(row: StoredResponseRow, now: number, growBy?: StoredGrowth): void
  findResponse(id: string, kind: StoredResponseRow['kind']): Promise<StoredResponseRow | null>
  /** The rows of those of `ids` recorded as `kind`, in one query (a request's input items, however many). */
  findResponses(ids: readonly string[], kind: StoredResponseRow['kind']): Promise<StoredResponseRow[]>
  /** Forgets a stored response and the items recorded as going with it. */
  forgetResponse(id: string): void
  /** Deletes the rows of EXPIRING_STORED_IDS recorded before `cutoff` (in batches, until `stopped`); returns how many. */
  pruneStoredResponses(cutoff: number, stopped?: () => boolean): Promise<number>
  /**
   * Writes the stored ids recorded so far, so that every process finds them (a lookup writes only its own process's):
   * what an answer carrying them waits for. A lock held on them by another session or process is waited out until
   * the database's deadline (SQLite's busy timeout); rejects if they are still unwritten then.
   */
  flushResponses(): Promise<void>
  /**
   * Whether a write of stored ids would be taken now: false while another session or process holds a lock that stops
   * it (an index build's on their table, another process's on the SQLite file), whose writes may then be waiting.
   */
  responsesWritable(): Promise<boolean>
  /**
   * Whether stored ids recorded by this process were refused for a lock at their last write, or withheld an answer that
   * waited for them, and are still unwritten (no question asked of the database). Always false on SQLite, where a lock
   * on the file refuses holds too.
   */
  responsesKeptBack(): boolean
  /**
   * Whether a write of the conversation's stored ids may be kept back in this process or any other, so that its row
   * may be short of a turn already answered (and paid): asked before a conversation is read. On SQLite, while another
   * process holds the file's write lock (responsesWritable false).
   */
  responsesKeptBackAnywhere(conversation: string): Promise<boolean>
  /** Open holds in the database, all processes: count and micro-USD. */
  openReservations(): Promise<{ n: number; amount: number }>
  /** Resolves when the database answers and takes writes; rejects otherwise (DatabaseReadOnly when it answers but takes no writes). */
  ping(): Promise<void>
  readonly alerts: AlertRows
  readonly sessions: SessionRows
  readonly refusals: RefusalRows
  /** Writes everything queued (settlements, log rows, counts): readers of the records await it first. */
  flush(): Promise<void>
  /** Writes everything queued and closes the connections. */
  close(): Promise<void>
}

/** Requests refused before a key was known, counted as one request-log row (src/records/request-log.ts). */
export interface RefusalAggregate {
  /** The interval, source, method, route pattern and status: what makes two processes' counts one row. */
  key: string
  /** The first request (its method known, its route the pattern or the path cut short, its address the source). */
  first: RequestLogEntry
  count: number
  lastAt: number
  /** How much of `count` is written (or queued); the store's own. */
  stored: number
  /** The store's handle on the row, once made; the store's own. */
  rowId?: number
  /** A write of it is queued and has not run; the store's own. */
  queued?: boolean
}

/** The alert outbox's rows (src/alerts/outbox.ts has its rules) and the figures the alert watch reads. */
export interface AlertRows {
  /**
   * Each alert and one pending delivery per webhook, unless an alert with its dedupe key exists (raised by any
   * process): whether each was written. Those whose keys one lookup finds are left out; the rest are written
   * in one transaction (a check's burst of crossings, a restart's check finding them all again).
   */
  insertAll(entries: readonly OutboxEntry[]): Promise<boolean[]>
  /**
   * Up to `limit` deliveries to `webhook` due at `now`, the longest due first, each claimed by this process alone
   * (its next attempt set to `leaseUntil`). One webhook at a time, so that each has room of its own: another's
   * backlog never takes the claims.
   */
  claimDue(webhook: string, now: number, leaseUntil: number, limit: number): Promise<DueDelivery[]>
  /**
   * The claim's attempt reached the receiver: delivered, whichever claim made it (one whose lease ran out too),
   * unless delivered already.
   */
  delivered(d: DueDelivery, now: number): Promise<void>
  /**
   * The claim's attempt failed: the next at `at` (retryAt) or none (failed), written only while the row is
   * still pending under that claim, so a late answer of a claim whose lease ran out overwrites no other's.
   * True when written.
   */
  retryAt(d: DueDelivery, at: number, error: string): Promise<boolean>
  failed(d: DueDelivery, error: string): Promise<boolean>
  /** A claim whose attempt was never made: due again at `now`, its attempt count as before the claim (same condition as `retryAt`). */
  unclaim(d: DueDelivery, now: number): Promise<void>
  count(status: 'pending' | 'failed'): Promise<number>
  /** Failed deliveries of an alert pending again from `now`; returns how many. */
  redeliver(alertId: string, now: number): Promise<number>
  exists(alertId: string): Promise<boolean>
  /**
   * Deletes the alerts raised before `cutoff` that are done with: none of their deliveries still pending (each
   * delivered, or failed after its last attempt), and their dedupe key no longer needed past `cutoff` either
   * (`dedupeUntil`), with their deliveries; in batches, until `stopped`. Returns how many alerts went.
   */
  prune(cutoff: number, stopped: () => boolean): Promise<number>
  /**
   * Users with a budget whose spend is at least `basisPoints` / 10000 of it: the first `limit` by id past `after` ('' for
   * the start), looked for a window of ids at a time (foundByIdWindows). Likewise rolledUsersOver and keysOver.
   */
  usersOver(basisPoints: number, after: string, limit: number): Promise<UserSpend[]>
  /**
   * Users with a `period` budget whose row a hold, settlement or new budget has rolled from the period that ended
   * at `end` to the next (its `period_start` is `end`), so that it no longer holds what they spent in it: the
   * ended period as the roll kept it (`last_period_start`, `last_period_spend`, `last_period_budget` and
   * `last_period_budget_set_at`, given as `period_start`, `spend`, `max_budget` and `budget_set_at`; it began at `start` or later, when the kind of period was set
   * within it), where its spend is at least `basisPoints` / 10000 of the budget it ended under. A roll past an
   * idle period keeps one that began before `start`, judged while the row held it: not returned.
   */
  rolledUsersOver(period: BudgetPeriod, start: number, end: number, basisPoints: number): Promise<UserSpend[]>
  /** Live keys with a ceiling whose spend is at least `basisPoints` / 10000 of it: the first `limit` by id past `after` ('' for the start). */
  keysOver(basisPoints: number, after: string, limit: number): Promise<KeySpend[]>
  /**
   * Live keys expiring in (from, to], by expiry then id: the first `limit` of them, or of those past `after` (a key
   * of the previous page). A page at a time: an app minting a key per customer has every one of them in the window.
   */
  expiringKeys(from: number, to: number, after: ExpiringKey | null, limit: number): Promise<ExpiringKey[]>
}

interface UpdatedUser {
  row: typeof tables.users.$inferSelect
  wasBlocked: boolean
}

/** An alert as the outbox writes it: the alert, and one pending delivery per webhook. */
export interface OutboxEntry {
  alert: StoredAlert
  webhooks: readonly string[]
}

interface StoredAlert {
  id: string
  dedupeKey: string
  kind: string
  subject: string | null
  payload: string
  createdAt: number
  /** See NewAlert.dedupeUntil. */
  dedupeUntil?: number | null
}

export interface DueDelivery {
  alertId: string
  webhook: string
  /** Counting the one now being made. */
  attempt: number
  /** The claim's lease: with `attempt`, it tells this claim from a later one of the same delivery. */
  leaseUntil: number
  payload: string
}

export interface UserSpend {
  id: string
  max_budget: number
  /** When the budget was last set to another amount; null: as the user was created. */
  budget_set_at: number | null
  spend: number
  budget_period: 'daily' | 'weekly' | 'monthly' | null
  period_start: number
}
export interface KeySpend {
  id: string
  user_id: string
  name: string | null
  max_budget: number
  /** When the ceiling was last set to another amount; null: as the key was created. */
  budget_set_at: number | null
  spend: number
}
export interface ExpiringKey {
  id: string
  user_id: string
  name: string | null
  expires_at: number
}

/**
 * Console sessions' rows (src/console/sessions.ts has the rules), found by id from any process. A request may carry
 * several session cookies: each call takes all their ids, one statement whatever their number.
 */
export interface SessionRows {
  /**
   * Writes this session and deletes those ended by `now` or idle since `idleSince` (on Postgres, but those another
   * transaction holds: the next sign-in deletes them). A key's session is written only if `admits` its key and user
   * as found in the same transaction, after any block, revocation or key change that began before it (on Postgres,
   * with the user's row and then the key's locked until its commit): false, and nothing written, when it does not.
   */
  insert(row: NewSessionRow, now: number, idleSince: number, admits: (key: SigningInKey | undefined) => boolean): Promise<boolean>
  /** The sessions of these ids that exist, in no order, each with its key and user as they are now. */
  find(ids: readonly string[]): Promise<SessionRow[]>
  touch(ids: readonly string[], now: number): Promise<void>
  remove(ids: readonly string[]): Promise<void>
}

export interface NewSessionRow {
  id: string
  kind: 'admin' | 'key'
  keyId: string | null
  keyHash: string | null
  createdAt: number
  expiresAt: number
}

/** A signing-in key's row and its user's, as the sign-in's transaction finds them. */
export interface SigningInKey {
  key_hash: string
  revoked_at: number | null
  expires_at: number | null
  blocked: boolean
}

export interface SessionRow {
  id: string
  kind: 'admin' | 'key'
  key_id: string | null
  key_hash: string | null
  created_at: number
  last_seen_at: number
  /** The end set at sign-in, by the maximum then configured. */
  expires_at: number
  // The key and its user as they are now (null once deleted).
  current_key_hash: string | null
  revoked_at: number | null
  key_expires_at: number | null
  user_id: string | null
  allowed_models: string[] | null
  rpm_limit: number | null
  user_field: 'reject' | 'tag' | null
  clamp_output: boolean | null
  blocked: boolean | null
}

/** Refusal counts per hour and code, and unpriced models asked for (src/records/refusals.ts has the rules). */
export interface RefusalRows {
  /** One more refusal with `code` in `hour`; written in the background, added up across processes. */
  count(hour: number, code: string): void
  /** One more request for an unpriced model; a new model is recorded only while fewer than `max` are. */
  unpriced(model: string, now: number, max: number): void
  /** Deletes counts of hours before `cutoff`; returns how many rows. */
  prune(cutoff: number): Promise<number>
}
