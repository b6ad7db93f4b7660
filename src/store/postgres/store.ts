import { SQL } from 'bun'
import { and, eq, inArray, isNull, sql as drizzleSql } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/bun-sql'
import { join } from 'node:path'
import { deleteInBatches, MAINTENANCE_BATCH } from '../../db/maintenance'
import { SchemaNewerError } from '../../db/newer-schema'
import type { Db } from '../../db/open'
import type * as sqliteTables from '../../db/schema'
import { logStoreFailure } from '../../log/background-failure'
import { directRecords, type RecordsReads } from '../../records/records-reader'
import type { RequestLogEntry } from '../../records/request-log'
import { budgetSetAt } from '../budget-set'
import { rollForNewBudget } from '../ended-period'
import { deleteKeySessionsOfKey, deleteKeySessionsOfUser, expiredBy } from '../ended-sessions'
import { newPeriodKind } from '../period-kind'
import { usageCostSince } from '../period-spend'
import { lastToStart, modelPriceRow, priceInsertParams, priceSql, type ModelPriceAnswer } from '../price-sql'
import { MAX_QUEUED_LOG_ROWS, MAX_QUEUED_REFUSAL_COUNTS, QueueCap } from '../queue-cap'
import { EXPIRING_STORED_IDS } from '../../db/expiring-stored-ids'
import { DatabaseReadOnly } from '../read-only'
import { userWithoutHolds } from '../user-deletion'
import type { AlertRows, KeyLookupRow, OutboxEntry, PriceRow, PriceRows, RefusalAggregate, SessionRows, Store, StoredGrowth, StoredResponseRow } from '../store'
import { insertOutboxEntry, postgresAlertRows } from './alert-rows'
import { KeptBackIds } from './kept-back'
import { adoptKeptGrowth, claimKeptGrowth, recordKeptGrowth } from './kept-growth'
import { STORED_ROW_COLUMNS, writeStoredRow, type QueuedResponse } from './stored-rows'
import { BatchWriter, BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS, failedBeforeCommit, lockTimedOut, ROWS_LOCK_TIMEOUT_MS, writeNotingCommit } from './batch'
import { postgresRefusalRows } from './refusal-rows'
import { postgresSessionRows } from './session-rows'
import { withQueryDeadlines } from './deadlines'
import { OneScanAtATime } from './records-scans'
import { quickReads } from './quick-reads'
import { DEFAULT_DATABASE_TIMEOUT_MS, retryingConflicts, withDeadline } from './errors'
import { lockKeyAndItsUser, shareUsers } from './lock-order'
import { DB_CLOCK, PostgresLedgerStore } from './ledger-store'
import { applyMigrations } from './migrations'
import { DatabaseOpenError, openFailureReason, postgresAddress } from './open-error'
import * as tables from './schema'

export const PG_MIGRATIONS = join(import.meta.dir, '..', '..', '..', 'drizzle-pg')

/** Connections per process: a reservation holds one for its transaction (a few round trips). */
const POOL = 16
/**
 * Connections per process for the admin records scans (Store.records), a pool of their own: a report stuck on a long
 * scan or behind a lock on `usage` takes one of these, never one a hold is waiting for. The scans run one at a time
 * (OneScanAtATime); the second connection is for the next while the last one's is given back.
 */
const RECORDS_POOL = 2
/**
 * The records pool's sessions. A statement given up on at the deadline is ended by Postgres then too, rather than
 * keeping its connection until it is answered. A scan gets no parallel workers: it takes one of the database's cores,
 * not three, from the holds of every inference request.
 */
const recordsSession = (deadlineMs: number) => ({ statement_timeout: deadlineMs, max_parallel_workers_per_gather: 0 })
/**
 * Every session of the store's pool (the ledger's too). Postgres ends one left idle inside a transaction past the
 * deadline: a replica frozen mid-transaction (SIGSTOP, `docker pause`, a VM stall) keeps its connection, and with
 * it its users' row locks, and every other replica's holds for those users would wait for as long as it lasts. A
 * statement waits for a lock no longer than the deadline, past which its caller was answered 503 anyway: a
 * transaction given up on would otherwise keep its pooled connection waiting, and the next one take another.
 */
const sessionBounds = (deadlineMs: number) => ({ idle_in_transaction_session_timeout: deadlineMs, lock_timeout: deadlineMs })

/**
 * How long the migrations' transaction may sit idle between two of its statements, at least (the session's bound is
 * the deadline: sessionBounds). Those gaps are this process's own work between statements, a few milliseconds, which
 * a starved host (a container throttled at startup) can stretch past a short deadline: Postgres would end the
 * migration and the replica refuse to start. A replica frozen mid-migration still lets go of the ledger's tables.
 */
const MIGRATION_IDLE_MS = 10_000

/** A replica's clock further than this from the database's is said at startup. */
const CLOCK_SKEW_WARN_MS = 5_000

const LOG_INSERT = `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id)
  SELECT * FROM json_to_recordset($1::text::json) AS x(
    "createdAt" bigint, "requestId" text, method text, route text, status int, "latencyMs" int, "clientIp" text, "keyId" text, "userId" text)`

/** Refusals' aggregate rows: every replica's counts of one aggregate add up in the row its key names. */
const AGGREGATE_UPSERT = `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, count, last_at, aggregate_key)
  SELECT * FROM json_to_recordset($1::text::json) AS x(
    "createdAt" bigint, "requestId" text, method text, route text, status int, "latencyMs" int, "clientIp" text, count int, "lastAt" bigint, key text)
  ON CONFLICT (aggregate_key) DO UPDATE SET count = api_request_log.count + excluded.count, last_at = greatest(api_request_log.last_at, excluded.last_at)`

interface AggregateDelta {
  key: string
  first: RequestLogEntry
  count: number
  lastAt: number
}

/** What a write of stored ids may take once its table's lock is had (its users' rows, its rows, its commit): see flushResponses. */
const AFTER_LOCK_MS = 250

const PRUNE_LOG = `DELETE FROM api_request_log WHERE id IN
  (SELECT id FROM api_request_log WHERE created_at < $1 ORDER BY created_at LIMIT ${MAINTENANCE_BATCH})`

const PRUNE_STORED = `DELETE FROM stored_responses WHERE id IN
  (SELECT id FROM stored_responses WHERE created_at < $1 AND ${EXPIRING_STORED_IDS} ORDER BY created_at LIMIT ${MAINTENANCE_BATCH})`

const DELETE_STORED_OF = `DELETE FROM stored_responses WHERE id IN
  (SELECT id FROM stored_responses WHERE user_id = $1 LIMIT ${MAINTENANCE_BATCH})`

// Each key's console sessions go with it (ON DELETE CASCADE).
/**
 * The store for several replicas: one Postgres database (TOLLGATE_DATABASE_URL), through Bun's built-in
 * client (Bun.SQL). Its committed migrations (drizzle-pg/) are applied at startup. The ledger's
 * consistency comes from row locks (src/store/postgres/ledger-store.ts); Postgres keeps its own
 * durability settings: a committed hold survives a crash.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres'
  readonly db: Db
  readonly tables = tables as unknown as typeof sqliteTables
  readonly ledger: PostgresLedgerStore
  readonly prices: PriceRows
  readonly records: RecordsReads
  readonly alerts: AlertRows
  readonly sessions: SessionRows
  readonly refusals: ReturnType<typeof postgresRefusalRows>
  private readonly log: BatchWriter<RequestLogEntry>
  private readonly aggregates: BatchWriter<AggregateDelta>
  private readonly responses: BatchWriter<QueuedResponse>
  private readonly keptBack: KeptBackIds
  private readonly caps: { logRows: QueueCap; refusalCounts: QueueCap }
  /**
   * The client everything this store sends goes through: each query and transaction within the deadline
   * (`database_timeout_ms`, see withQueryDeadlines), so that a database that answers nothing refuses
   * requests and admin calls with 503, and lets background writes fail and a stop end.
   */
  private readonly bounded: SQL

  private constructor(
    /** The client without a deadline: for work that takes its own time (the migrate CLI's copy) and tests. */
    readonly sql: SQL,
    /** The records queries' pool (RECORDS_POOL), whose statements Postgres ends at the deadline. */
    private readonly recordsSql: SQL,
    url: string,
    private readonly onError: (error: unknown) => void,
    private readonly deadlineMs: number,
    caps: QueueCapSizes,
  ) {
    const bounded = (this.bounded = withQueryDeadlines(sql, deadlineMs))
    const main = drizzle({ client: bounded, schema: tables })
    // See Store.db: the admin routes keep to what both builders share.
    this.db = main as unknown as Db
    this.ledger = new PostgresLedgerStore(sql, onError, deadlineMs, bounded)
    this.prices = postgresPriceRows(bounded)
    const scans = new OneScanAtATime(withQueryDeadlines(recordsSql, deadlineMs), deadlineMs)
    this.records = directRecords(drizzle({ client: scans.client, schema: tables }), (scan, signal) => scans.run(scan, signal), quickReads(bounded), this.tables)
    this.alerts = postgresAlertRows(bounded)
    this.sessions = postgresSessionRows(bounded)
    this.caps = {
      logRows: new QueueCap(caps.maxQueuedLogRows ?? MAX_QUEUED_LOG_ROWS, 'request-log row', 'tollgate_log_rows_dropped_total', onError),
      refusalCounts: new QueueCap(caps.maxQueuedRefusalCounts ?? MAX_QUEUED_REFUSAL_COUNTS, 'refusal count', 'tollgate_refusal_counts_dropped_total', onError),
    }
    this.refusals = postgresRefusalRows(bounded, onError, this.caps.refusalCounts)
    this.log = new BatchWriter((rows) => writeBoundingLockWaits(bounded, LOG_INSERT, rows), onError, { retry: 'uncommitted', what: 'request-log row', cap: this.caps.logRows })
    this.ledger.carry(this.log, LOG_INSERT)
    // Refusals' aggregates are request-log rows: their deltas share the log's cap.
    this.aggregates = new BatchWriter((rows) => writeBoundingLockWaits(bounded, AGGREGATE_UPSERT, sumAggregates(rows)), onError, {
      retry: 'uncommitted',
      what: 'refusal count',
      cap: this.caps.logRows,
    })
    // Kept back by a lock on their table, stored ids wait it out themselves: another replica reads them to size its
    // holds (a conversation's growth), must find them as soon as the lock goes, and sees them waiting until it does.
    // A row's wait for another writer's row is not such a lock: it is tried again, as any other failure.
    this.responses = new BatchWriter((rows, lockWaitMs, joinQueued) => this.writeResponses(rows, lockWaitMs, joinQueued), onError, {
      retry: true,
      what: 'stored response id',
      waitOutLocksMs: Math.max(ROWS_LOCK_TIMEOUT_MS, deadlineMs - AFTER_LOCK_MS),
      lockedOutBy: (error) => error instanceof TableLockTimedOut,
      onWritten: (rows) => this.withdrawWritten(rows),
    })
    this.keptBack = new KeptBackIds(url, deadlineMs, bounded, onError)
  }

  /**
   * Connects, applies the committed migrations (one replica at a time: an advisory lock; see applyMigrations),
   * unless a newer tollgate has migrated the database (SchemaNewerError, the connections closed).
   */
  static async open(
    url: string,
    onError: (error: unknown) => void = logStoreFailure,
    deadlineMs = DEFAULT_DATABASE_TIMEOUT_MS,
    caps: QueueCapSizes = {},
  ): Promise<PostgresStore> {
    const sql = new SQL(url, { max: POOL, idleTimeout: 30, connectionTimeout: 5, connection: sessionBounds(deadlineMs) })
    // Replicas started together would otherwise race to create the same tables: a session lock on one connection.
    const conn = await sql.reserve().catch(async (error) => {
      await sql.close()
      throw new DatabaseOpenError(`cannot connect to Postgres at ${postgresAddress(url)}: ${openFailureReason(error, url)}`)
    })
    try {
      // A replica waits for another's migrations, and they for the transactions in flight, as long as that takes.
      await conn`SET lock_timeout = 0`
      await conn`SELECT set_config('idle_in_transaction_session_timeout', ${`${Math.max(deadlineMs, MIGRATION_IDLE_MS)}ms`}, false)`
      await conn`SELECT pg_advisory_lock(7201400)`
      await applyMigrations(conn, PG_MIGRATIONS)
      await conn`SELECT pg_advisory_unlock(7201400)`
      await conn`RESET lock_timeout`
      await conn`RESET idle_in_transaction_session_timeout`
    } catch (error) {
      conn.release()
      await sql.close()
      if (error instanceof SchemaNewerError) throw error
      throw new DatabaseOpenError(`Postgres at ${postgresAddress(url)} refused the schema's migrations: ${openFailureReason(error, url)}`)
    }
    conn.release()
    await warnOfClockSkew(sql)
    // No connection until the first records query.
    const recordsSql = new SQL(url, { max: RECORDS_POOL, idleTimeout: 30, connectionTimeout: 5, connection: recordsSession(deadlineMs) })
    return new PostgresStore(sql, recordsSql, url, onError, deadlineMs, caps)
  }

  /**
   * A transaction, not the statement alone: the deadline only stops its caller waiting, and a statement sent on its
   * own would run on and commit once the lock it waits for goes, after the caller was answered 503 (and so never
   * told the replicas' caches). A transaction answered late is rolled back instead (withQueryDeadlines).
   */
  write<T>(run: (db: Db) => Promise<T>): Promise<T> {
    return drizzle({ client: this.bounded, schema: tables }).transaction((tx) => run(tx as unknown as Db))
  }

  async findKey(hash: string): Promise<KeyLookupRow | undefined> {
    const [row] = await this.bounded`
      SELECT id, user_id, expires_at, revoked_at, allowed_models, rpm_limit, user_field, clamp_output FROM api_keys WHERE key_hash = ${hash}`
    if (!row) return undefined
    return {
      id: row.id, userId: row.user_id, expiresAt: numberOrNull(row.expires_at), revokedAt: numberOrNull(row.revoked_at),
      allowedModels: jsonColumn(row.allowed_models), rpmLimit: row.rpm_limit, userField: row.user_field, clampOutput: row.clamp_output,
    }
  }

  async insertKey(row: typeof sqliteTables.apiKeys.$inferInsert) {
    const pgDb = drizzle({ client: this.bounded, schema: tables })
    return pgDb.transaction(async (tx) => {
      // The lock the foreign key's own check takes (KEY SHARE): a DELETE of the user under way is waited for, and
      // then nothing is found; one that comes later waits for this insert, and takes the key with the user.
      const [user] = await tx.select({ id: tables.users.id }).from(tables.users).where(eq(tables.users.id, row.userId)).for('key share')
      if (!user) return undefined
      const [inserted] = await tx.insert(tables.apiKeys).values(row as typeof tables.apiKeys.$inferInsert).returning()
      return inserted as unknown as typeof sqliteTables.apiKeys.$inferSelect
    })
  }

  async updateKey(id: string, changes: Partial<typeof sqliteTables.apiKeys.$inferInsert>, takeOverHolds: boolean, now = Date.now()) {
    const pgDb = drizzle({ client: this.bounded, schema: tables })
    // Its locks follow the one order (lock-order.ts); a deadlock with a session that takes them otherwise is undone
    // by Postgres, and this runs again.
    return retryingConflicts(() => pgDb.transaction(async (tx) => {
      if (takeOverHolds) {
        // The user's row, then the key's, as a reservation locks them: no hold can be taken on the key between the
        // ceiling and the takeover. The user's first because this writes the key's row twice, and the second write
        // takes the user's row for its foreign-key check (lock-order.ts).
        for (const lock of lockKeyAndItsUser(id)) await tx.execute(lock)
        await tx.execute(drizzleSql`
          WITH taken AS (UPDATE reservations SET key_debited = true WHERE key_id = ${id} AND NOT key_debited RETURNING amount)
          UPDATE api_keys SET reserved = reserved + (SELECT coalesce(sum(amount), 0) FROM taken) WHERE id = ${id}`)
      }
      // The key's row only, locked as the update below would lock it: its ceiling as the update replaces it.
      const [before] = await tx
        .select({ maxBudget: tables.apiKeys.maxBudget, expiresAt: tables.apiKeys.expiresAt })
        .from(tables.apiKeys)
        .where(eq(tables.apiKeys.id, id))
        .for('no key update')
      if (!before) return undefined
      // The key's sessions come after its row in the lock order.
      if (expiredBy(before.expiresAt, now)) await tx.execute(deleteKeySessionsOfKey(tables, id))
      const set = { ...changes, ...budgetSetAt(before.maxBudget, changes, now) } as Partial<typeof tables.apiKeys.$inferInsert>
      const [row] = await tx.update(tables.apiKeys).set(set).where(eq(tables.apiKeys.id, id)).returning()
      return row as unknown as typeof sqliteTables.apiKeys.$inferSelect | undefined
    }))
  }

  async revokeKey(id: string, now: number, event: (row: typeof sqliteTables.apiKeys.$inferSelect) => OutboxEntry) {
    const pgDb = drizzle({ client: this.bounded, schema: tables })
    return pgDb.transaction(async (tx) => {
      const [revoked] = await tx
        .update(tables.apiKeys)
        .set({ revokedAt: now, updatedAt: now })
        .where(and(eq(tables.apiKeys.id, id), isNull(tables.apiKeys.revokedAt)))
        .returning()
      const row = revoked as unknown as typeof sqliteTables.apiKeys.$inferSelect | undefined
      if (row) await insertOutboxEntry(tx, event(row))
      return row
    })
  }

  async updateUser(
    id: string,
    changes: Partial<typeof sqliteTables.users.$inferInsert>,
    blocked?: (row: typeof sqliteTables.users.$inferSelect) => OutboxEntry,
    now = Date.now(),
  ) {
    const pgDb = drizzle({ client: this.bounded, schema: tables })
    return pgDb.transaction(async (tx) => {
      // The row first: a statement reads what was committed when it began (READ COMMITTED), and an UPDATE may
      // begin long before it gets the row's lock; what is read here and the count below are what the lock
      // holder sees, so of concurrent updates blocking the user one only finds it not blocked.
      const { users } = tables
      const [before] = await tx
        .select({ blocked: users.blocked, budgetPeriod: users.budgetPeriod, periodStart: users.periodStart, spend: users.spend, maxBudget: users.maxBudget, budgetSetAt: users.budgetSetAt })
        .from(users)
        .where(eq(users.id, id))
        .for('update')
      if (!before) return undefined
      const kind = newPeriodKind(before, changes, now)
      const set = {
        ...changes,
        ...budgetSetAt(before.maxBudget, changes, now),
        ...(kind ? { ...kind, spend: usageCostSince(tables, id, kind.periodStart) } : rollForNewBudget(before, changes, now)),
      } as Partial<typeof tables.users.$inferInsert>
      const [row] = await tx
        .update(tables.users)
        .set(set)
        .where(eq(tables.users.id, id))
        .returning()
      const updated = row as unknown as typeof sqliteTables.users.$inferSelect
      // The user's key sessions come after its row in the lock order (lock-order.ts).
      if (updated.blocked && !before.blocked) await tx.execute(deleteKeySessionsOfUser(tables, id))
      if (blocked && updated.blocked && !before.blocked) await insertOutboxEntry(tx, blocked(updated))
      return { row: updated, wasBlocked: before.blocked }
    })
  }

  async deleteUser(id: string): Promise<boolean> {
    const pgDb = drizzle({ client: this.bounded, schema: tables })
    const deletable = await pgDb.select({ id: tables.users.id }).from(tables.users).where(userWithoutHolds(tables, id))
    if (deletable.length === 0) return false
    await deleteInBatches(async () => (await this.bounded.unsafe(DELETE_STORED_OF, [id])).count, () => false)
    // Then its keys, a batch a transaction: one cascade over a million keys would run for seconds, past the deadline.
    // A transaction, not the statement alone (see write): a batch whose COMMIT lands after its 503 is told to the
    // caches once it lands (forgettingChange), or a deleted key would be served from them for the TTL. A batch that
    // deadlocks with a transaction locking the same keys runs again.
    const { apiKeys } = tables
    const deleteKeyBatch = () =>
      pgDb.transaction(async (tx) => {
        const batch = tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.userId, id)).limit(MAINTENANCE_BATCH)
        return (await tx.delete(apiKeys).where(inArray(apiKeys.id, batch)).returning({ id: apiKeys.id })).length
      })
    await deleteInBatches(() => retryingConflicts(deleteKeyBatch), () => false)
    // Its cascade locks the user's keys after the user's row: a transaction that locks them in the other order
    // deadlocks with it, Postgres undoes one of the two, and this runs again.
    return retryingConflicts(() => pgDb.transaction(async (tx) => {
      // The row first, as a reservation locks it before writing its hold. A DELETE that waited for that lock
      // would still judge the holds by the snapshot its statement began with (READ COMMITTED), missing one
      // committed meanwhile (a hold of 0 leaves `reserved` as it was); the DELETE after the lock begins once
      // every hold that locked the row first is committed, and a hold after it waits and finds no user.
      await tx.execute(drizzleSql`SELECT 1 FROM users WHERE id = ${id} FOR UPDATE`)
      const deleted = await tx.delete(tables.users).where(userWithoutHolds(tables, id)).returning({ id: tables.users.id })
      // Its kept growth has no foreign key to cascade (schema.ts): a growth recorded after this is dropped when read.
      if (deleted.length > 0) await tx.delete(tables.storedResponseGrowth).where(eq(tables.storedResponseGrowth.userId, id))
      return deleted.length > 0
    }))
  }

  appendRequestLog(entry: RequestLogEntry): void {
    this.log.push(entry)
  }

  droppedWhileUnwritable() {
    return { logRows: this.caps.logRows.dropped, refusalCounts: this.caps.refusalCounts.dropped }
  }

  storeRefusals(a: RefusalAggregate): void {
    const count = a.count - a.stored
    if (count <= 0) return
    a.stored = a.count
    this.aggregates.push({ key: a.key, first: a.first, count, lastAt: a.lastAt })
  }

  /**
   * In batches, as on SQLite: each DELETE a short statement, well within the query deadline whatever the backlog
   * (a day's log after a long stop is millions of rows), holding a connection of the main pool for one batch at a
   * time; and it ends between batches once the gateway is stopping.
   */
  pruneRequestLog(cutoff: number, stopped: () => boolean = () => false): Promise<number> {
    return deleteInBatches(async () => (await this.bounded.unsafe(PRUNE_LOG, [cutoff])).count, stopped)
  }

  /** In batches too, for the same reasons. */
  pruneStoredResponses(cutoff: number, stopped: () => boolean = () => false): Promise<number> {
    return deleteInBatches(async () => (await this.bounded.unsafe(PRUNE_STORED, [cutoff])).count, stopped)
  }

  recordResponse(row: StoredResponseRow, now: number, growBy?: StoredGrowth): void {
    this.responses.push({ ...row, created_at: now, grow_by: growBy })
  }

  /**
   * In one transaction: one commit (one flush of the WAL) for the batch rather than one per row, and a batch
   * refused for a row's data is undone whole before its rows go one at a time (a growth is never applied twice).
   * Its lock waits bounded, as the request log's (writeBoundingLockWaits), for the same reason; but while an answer
   * waits for its ids (`flushResponses`), the table's own lock (an index build's SHARE stops inserts) is waited for
   * as long as `lockWaitMs`, and first, before any user's row is locked, so that the wait holds up no reservation.
   * Its rows go in id order (inIdOrder), so that two replicas' batches of the same conversations never deadlock.
   *
   * Once the table's lock is had after a wait, the rows queued meanwhile join the batch (BatchWriter.joinQueued): an
   * index build ended, no other replica reads some of them written and the rest neither written nor waiting.
   *
   * A batch that fails once its COMMIT was sent (the connection lost with the answer) may have committed: it is
   * sent again (`retry`), and every row of it lands the same twice but a growth, which adds to the size stored.
   * Its growths go again as no growth (sentAsFloor): each then only raises the size to what its turn knew, and
   * adds nothing if it had committed. If it had not, a turn taken at once on the same conversation may go
   * uncounted; a turn never counts twice. A growth kept back in stored_response_growth (kept-growth.ts) is not made a
   * floor: whether its row there is still to be deleted says whether the batch committed (claimKeptGrowth).
   *
   * A batch that grows conversations asks for the table's lock at once (NOWAIT) first: refused, its growth is kept
   * where that lock does not reach (recordKeptGrowth) before it waits, so that a replica killed while its answers wait
   * for the lock leaves their growth behind. One at a time with the other recordings of growth (inStoredLane): a growth
   * is recorded only while its row is not written, and a write claims only what was recorded before it began.
   */
  private writeResponses(rows: QueuedResponse[], lockWaitMs: number, joinQueued: () => void): Promise<void> {
    return this.inStoredLane(async () => {
      const growing = rows.filter(growthUnrecorded)
      try {
        await this.writeResponsesNow(rows, lockWaitMs, joinQueued, growing.length > 0)
      } catch (error) {
        if (growing.length === 0 || !(error instanceof TableLockTimedOut)) throw error
        await recordKeptGrowth(this.bounded, growing).catch(this.onError)
        await this.writeResponsesNow(rows, lockWaitMs, joinQueued, false)
      }
      for (const r of rows) r.landed = true
    })
  }

  private async writeResponsesNow(rows: QueuedResponse[], lockWaitMs: number, joinQueued: () => void, nowait: boolean) {
    await writeNotingCommit(this.bounded, async (tx) => {
      // The table's lock first, on its own (a whole number of milliseconds, no parameter: the simple protocol takes
      // several statements), so that a refusal is known to be the table's (TableLockTimedOut). The rows then wait as
      // long: what holds them is another writer's transaction, which ends.
      await tx.unsafe(`SET LOCAL lock_timeout = '${Math.floor(lockWaitMs)}ms'; LOCK TABLE stored_responses IN ROW EXCLUSIVE MODE${nowait ? ' NOWAIT' : ''}`).catch((error) => {
        throw lockTimedOut(error) ? new TableLockTimedOut(error) : error
      })
      if (lockWaitMs > ROWS_LOCK_TIMEOUT_MS) joinQueued()
      // Their users' rows in id order, before the inserts take them one by one (lock-order.ts).
      await shareUsers(tx, rows.filter((r) => !r.forget).map((r) => r.user_id))
      await claimKeptGrowth(tx, rows)
      for (const r of inIdOrder(rows)) await writeStoredRow(tx, r)
    }).catch((error) => {
      if (!failedBeforeCommit(error)) for (const r of rows) if (!r.kept_growth?.recorded) sentAsFloor(r)
      throw error
    })
  }

  /** The stored ids' writes and the recordings of withheld growth, one after the other (see writeResponses). */
  private storedLane: Promise<void> = Promise.resolve()

  private inStoredLane(run: () => Promise<void>): Promise<void> {
    const done = this.storedLane.then(run)
    this.storedLane = done.catch(() => {})
    return done
  }

  /**
   * An answer's ids wait out a lock on their table (flushQueued's `until`) until the deadline, less what the rest of
   * the write may take once the lock is had: Postgres ends the wait itself, before the deadline would give the
   * transaction up and leave it holding its connection.
   */
  async flushResponses(): Promise<void> {
    const mine = this.responses.unwritten()
    try {
      await this.responses.flushQueued(performance.now() + this.deadlineMs - AFTER_LOCK_MS)
    } catch (error) {
      // The answer is withheld, whatever kept its ids: until they land, every replica's lookups of its conversations
      // know their size may be short (KeptBackIds), and the growth outlives this process (kept-growth.ts).
      const left = this.responses.unwritten()
      const unwritten = [...mine].filter((r) => left.has(r))
      const newly = unwritten.filter((r) => !this.withheld.has(r))
      for (const r of newly) this.withheld.add(r)
      const conversations = (rows: QueuedResponse[]) => rows.filter((r) => r.kind === 'conversation')
      await Promise.all([this.keptBack.announce(conversations(newly).map((r) => r.id)), this.keepGrowth(conversations(unwritten))])
      throw error
    }
  }

  /**
   * Records the growth of these rows where a lock on stored_responses does not stop it (recordKeptGrowth), unless
   * written meanwhile or recorded already. If the database takes nothing, not even this (it is unreachable), the
   * growth stays in this process only, as the rows do, announced if that got through: lost if the process ends first.
   */
  private keepGrowth(rows: QueuedResponse[]): Promise<void> {
    return this.inStoredLane(async () => {
      const unrecorded = rows.filter((r) => !r.landed && growthUnrecorded(r))
      if (unrecorded.length > 0) await recordKeptGrowth(this.bounded, unrecorded)
    }).catch(this.onError)
  }

  /**
   * The rows withheld answers waited for and that are not written yet (see flushResponses): kept back, by the table's
   * lock or anything else, whether or not the writer's own try has yet been refused for the lock. Their conversations'
   * are announced to the other replicas (KeptBackIds).
   */
  private readonly withheld = new Set<QueuedResponse>()

  private withdrawWritten(rows: QueuedResponse[]): void {
    if (this.withheld.size === 0) return
    const written = rows.filter((r) => this.withheld.delete(r) && r.kind === 'conversation')
    if (written.length > 0) this.keptBack.withdraw(written.map((r) => r.id))
  }

  responsesKeptBack(): boolean {
    return this.responses.keptBackForLock || this.withheld.size > 0
  }

  /**
   * Asks for the lock an insert takes (NOWAIT: refused at once, 55P03, if another session's lock stops it), never
   * waiting for it: callers that come while one is asked share its answer, so that requests retried in a crowd during
   * an index build take one pooled connection for an instant, not one each for a wait.
   */
  responsesWritable(): Promise<boolean> {
    return (this.writableAsked ??= this.bounded
      .begin((tx) => tx.unsafe('LOCK TABLE stored_responses IN ROW EXCLUSIVE MODE NOWAIT'))
      .then(() => true, (error) => {
        if (lockTimedOut(error)) return false
        throw error
      })
      .finally(() => (this.writableAsked = null)))
  }

  private writableAsked: Promise<boolean> | null = null

  /** See KeptBackIds. */
  responsesKeptBackAnywhere(conversation: string): Promise<boolean> {
    return this.keptBack.conversation(conversation)
  }

  /**
   * After the ids recorded before it are written (not those other requests keep recording: see flushQueued). A
   * conversation with growth kept back in stored_response_growth is read with it (adoptKeptGrowth): asked in the same
   * query, so that a conversation with none, the usual case, costs no more round trips.
   */
  async findResponse(id: string, kind: StoredResponseRow['kind']): Promise<StoredResponseRow | null> {
    await this.writtenBeforeLookup()
    if (kind === 'conversation') {
      const [row] = await this.bounded.unsafe(FIND_CONVERSATION, [id])
      if (row.growth_kept) {
        const adopted = await adoptKeptGrowth(this.bounded, id)
        return adopted ? storedResponseRow(adopted) : null
      }
      return row.id === null ? null : storedResponseRow(row)
    }
    const [row] = await this.bounded`SELECT id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio FROM stored_responses WHERE id = ${id} AND kind = ${kind}`
    return row ? storedResponseRow(row) : null
  }

  async findResponses(ids: readonly string[], kind: StoredResponseRow['kind']): Promise<StoredResponseRow[]> {
    await this.writtenBeforeLookup()
    // The ids as one JSON array, as on SQLite: one parameter, whatever their number.
    const rows = await this.bounded`
      SELECT id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio FROM stored_responses
      WHERE id IN (SELECT json_array_elements_text(${JSON.stringify(ids)}::text::json)) AND kind = ${kind}`
    return rows.map(storedResponseRow)
  }

  /**
   * The ids this process recorded before a lookup, written first (see findResponse). A lock on their table is waited
   * out until the deadline, as an answer's ids wait it out (flushResponses), not only for the riders' bound a send
   * nobody waited for tries: a stream's ids, sent as it began, held up by another session's brief SHARE lock (an
   * older version's conversation lookup) would otherwise refuse every lookup on this replica until they landed.
   */
  private writtenBeforeLookup(): Promise<void> {
    return this.responses.flushQueued(performance.now() + this.deadlineMs - AFTER_LOCK_MS)
  }

  forgetResponse(id: string): void {
    this.responses.push({ id, forget: true, kind: 'response', user_id: '', provider: '', model: '', context_tokens: null, media_parts: null, context_bytes: null, holds_audio: false, created_at: 0 })
  }

  async openReservations() {
    const [row] = await this.bounded`SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM reservations`
    return { n: Number(row.n), amount: Number(row.amount) }
  }

  /**
   * Within the deadline: a database that keeps the connection and answers nothing is down for /health too. So is
   * one that answers but refuses every hold for taking no writes (a standby, `default_transaction_read_only`),
   * which `SELECT 1` alone would call healthy while a load balancer kept sending this replica requests.
   */
  async ping(): Promise<void> {
    const [row] = await this.bounded`SELECT pg_is_in_recovery() OR current_setting('transaction_read_only')::boolean AS read_only`
    if (row.read_only) throw new DatabaseReadOnly()
  }

  /** The rows queued before the call, a lock on their tables waited out until the deadline (see flushResponses). */
  async flush(): Promise<void> {
    const until = performance.now() + this.deadlineMs - AFTER_LOCK_MS
    const writers = [this.log, this.aggregates, this.responses, this.refusals.writer]
    await Promise.all([this.ledger.flush(), ...writers.map((writer) => writer.flushQueued(until))])
  }

  /**
   * Writes what is queued, within the deadline in all (a database that answers nothing must not keep a
   * stop waiting: what is not written by then is reported, and a hold still open is the sweeper's), then
   * closes the pool at once: whatever still runs was given up on, and a transaction of it not committed yet
   * is better undone than committed after its caller was refused. Until the deadline, what a failed write
   * kept is sent again (BatchWriter.close).
   */
  async close(): Promise<void> {
    const stop = new AbortController()
    const written = (async () => {
      // The ledger first: a reservation batch in flight may hand the request-log rows it carried back.
      await this.ledger.close(stop.signal)
      await Promise.all([this.log, this.aggregates, this.refusals.writer, this.responses].map((writer) => writer.close(stop.signal)))
    })()
    await withDeadline(written, this.deadlineMs, () => stop.abort()).catch(() =>
      this.onError(new Error(`the database did not take every queued write within ${this.deadlineMs} ms of the stop: request-log rows not written are lost, holds left open are the sweeper's`)),
    )
    await Promise.all([this.sql.close({ timeout: 0 }), this.recordsSql.close({ timeout: 0 }), this.keptBack.close()])
  }
}

/** How many rows the background writers keep while Postgres takes none (QueueCap); the defaults but in tests. */
interface QueueCapSizes {
  maxQueuedLogRows?: number
  maxQueuedRefusalCounts?: number
}

/**
 * Request-log rows written on their own, as when they ride in a reservation (see sendRiders): a lock held on
 * the request log for minutes refuses them at once (55P03), and they are sent again later (BatchWriter),
 * rather than keep a pooled connection each until the deadline and then be counted lost while they may
 * still be written.
 */
const writeBoundingLockWaits = (sql: SQL, insert: string, rows: unknown[]) =>
  writeNotingCommit(sql, (tx) => Promise.all([tx.unsafe(BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS), tx.unsafe(insert, [JSON.stringify(rows)])]))

/**
 * A stored-id write refused the lock its table's inserts take (lock_timeout): something holds the table (an index
 * build, a LOCK TABLE), and its rows are kept back until that goes (BatchWriter's `lockedOutBy`). A row of it waiting
 * for another writer's is not this.
 */
class TableLockTimedOut extends Error {
  readonly errno = '55P03'
  constructor(cause: unknown) {
    super('the lock on stored_responses was not granted within the write\'s lock timeout', { cause })
  }
}

/**
 * Upserts in the order of their ids, the same on every replica: two batches writing the same conversations (two turns
 * of one at once on two replicas) then wait for each other's row one way, never each for the other's, until one's
 * lock timeout. A stable sort: rows of one id keep their order; forgets go last, in theirs, after the items they
 * delete with their response.
 */
const inIdOrder = (rows: QueuedResponse[]): QueuedResponse[] => {
  const recorded = rows.filter((r) => !r.forget).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return recorded.concat(rows.filter((r) => r.forget))
}

/**
 * A growth of a batch that may have committed, made no growth, in place (the writer keeps the rows it sends
 * again by identity): sent again, its sizes are floors, GREATEST(stored, the turn's), not added again.
 */
function sentAsFloor(row: QueuedResponse): void {
  if (row.grow_by !== undefined) row.grow_by = { tokens: 0, mediaParts: 0, bytes: 0 }
}

/** A conversation's growth not yet kept in stored_response_growth (kept-growth.ts). */
const growthUnrecorded = (r: QueuedResponse): boolean => r.kind === 'conversation' && r.grow_by !== undefined && !r.forget && !r.kept_growth?.recorded

/** One row per aggregate a batch names (an upsert may touch a row once): the counts added up, the first request kept. */
function sumAggregates(rows: AggregateDelta[]) {
  const byKey = new Map<string, AggregateDelta>()
  for (const r of rows) {
    const seen = byKey.get(r.key)
    if (!seen) byKey.set(r.key, { ...r })
    else {
      seen.count += r.count
      seen.lastAt = Math.max(seen.lastAt, r.lastAt)
    }
  }
  return [...byKey.values()].map(({ key, first, count, lastAt }) => ({ ...first, count, lastAt, key }))
}

/**
 * A jsonb column written through drizzle's bun-sql driver holds its JSON as a string (the driver encodes the
 * value and the client encodes that again); drizzle's own reads undo both, a raw query only one.
 */
export const jsonColumn = <T>(v: unknown): T | null => (typeof v === 'string' ? (JSON.parse(v) as T) : ((v ?? null) as T | null))

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** Its bigint sizes come back as strings. */
const storedResponseRow = (row: StoredResponseRow): StoredResponseRow => ({
  id: row.id, kind: row.kind, user_id: row.user_id, provider: row.provider, model: row.model, context_tokens: numberOrNull(row.context_tokens),
  media_parts: row.media_parts, context_bytes: numberOrNull(row.context_bytes), holds_audio: row.holds_audio,
})

/** A conversation's row (its columns null if none) and whether growth is kept back for it (kept-growth.ts). */
const FIND_CONVERSATION = `SELECT ${STORED_ROW_COLUMNS.split(', ').map((c) => `s.${c}`).join(', ')},
    EXISTS (SELECT 1 FROM stored_response_growth WHERE conversation_id = $1) AS growth_kept
  FROM (SELECT 1) AS asked LEFT JOIN stored_responses s ON s.id = $1 AND s.kind = 'conversation'`

const priceRow = <T = PriceRow>(r: Record<string, unknown>): T => {
  const out: Record<string, unknown> = { ...r }
  for (const k of [
    'id', 'input_per_million', 'output_per_million', 'cached_input_per_million', 'per_request', 'cache_write_per_million', 'cache_write_1h_per_million',
    'audio_input_per_million', 'audio_output_per_million', 'image_output_per_million', 'long_context_above_tokens', 'media_part_tokens', 'context_window_tokens', 'template_overhead_tokens', 'created_at', 'deleted_at', 'ended_at', 'next_start',
  ])
    if (k in out) out[k] = numberOrNull(out[k])
  return out as T
}

/**
 * One model's price writes, one at a time on every replica, to the transaction's end: a change based on the row in
 * force (PriceRows.insert's `basedOn`) checks it and writes after any other change of the model has committed, and
 * READ COMMITTED shows the check that change. An advisory lock of two keys (this, the model's hash), a space apart
 * from the migrations' one-key lock.
 */
const LOCK_MODEL_PRICES = 'SELECT pg_advisory_xact_lock(7201401, hashtext($1))'

function postgresPriceRows(sql: SQL): PriceRows {
  const typed = priceSql({ p: (n, type) => (type ? `$${n}::${type}` : `$${n}`), json: (n) => `$${n}::text::jsonb`, lateral: true })
  return {
    current: async (now) => (await sql.unsafe(typed.current, [now])).map(priceRow),
    nextChange: async (now) => numberOrNull((await sql.unsafe(typed.nextChange, [now]))[0]?.at),
    page: async (after, limit, offset, now) => (await sql.unsafe(typed.page, [now, after, limit, offset])).map(priceRow),
    ofModel: async (model, now) => modelPriceRow(priceRow<ModelPriceAnswer>((await sql.unsafe(typed.ofModel, [model, now]))[0])),
    // In a transaction, as every admin write: one answered after the deadline is rolled back (see PostgresStore.write).
    insert: (row, basedOn) =>
      sql.begin(async (tx) => {
        await tx.unsafe(LOCK_MODEL_PRICES, [row.model])
        if (basedOn !== undefined) {
          const [found] = await tx.unsafe(typed.basedOnCheck, [row.model, basedOn.at, basedOn.startsBy, basedOn.id ?? 0])
          if (numberOrNull(found.in_force) !== basedOn.id || found.written_since) return null
        }
        return priceRow((await tx.unsafe(typed.insert, priceInsertParams(row)))[0])
      }),
    unprice: (model, { at, inForceFrom }) =>
      sql.begin(async (tx) => {
        await tx.unsafe(LOCK_MODEL_PRICES, [model])
        const deleted = await tx.unsafe(typed.markDeleted, [at, model, inForceFrom])
        const cancelled = await tx.unsafe(typed.cancelScheduled, [at, model])
        return { inForce: lastToStart(deleted.map((r: Record<string, unknown>) => priceRow(r))), cancelledScheduled: cancelled.count }
      }),
    history: async (model, beforeId, limit, offset) => (await sql.unsafe(typed.history, [model, beforeId, limit, offset])).map(priceRow),
    record: async (id) => {
      const [row] = await sql.unsafe(typed.record, [id])
      return row ? priceRow<PriceRow & { ended_at: number | null }>(row) : null
    },
    countOf: async (model) => Number((await sql.unsafe(typed.countOf, [model]))[0].n),
  }
}

/**
 * Holds expire and are swept on the database's clock, but a replica's own clock still dates its usage rows,
 * rolls budget periods and decides whether a key or a console session has expired: a clock far from the
 * database's is said at startup (one query), so that it is fixed at the host (NTP).
 */
async function warnOfClockSkew(sql: SQL): Promise<void> {
  const sent = Date.now()
  const [row] = await sql.unsafe(`SELECT ${DB_CLOCK} AS ms`)
  const skew = Math.round((sent + Date.now()) / 2 - Number(row.ms))
  if (Math.abs(skew) <= CLOCK_SKEW_WARN_MS) return
  const seconds = Math.round(Math.abs(skew) / 1000)
  console.warn(
    `[tollgate] this process's clock is ${seconds} s ${skew > 0 ? 'ahead of' : 'behind'} the database's: holds expire on the database's ` +
      `clock, but usage times, budget periods and key expiry follow this process's; synchronise its clock (NTP)`,
  )
}
