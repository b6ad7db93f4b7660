import type { Statement } from 'bun:sqlite'
import { and, eq, isNull, sql } from 'drizzle-orm'
import { BUSY_TIMEOUT_MS, LOCK_WAIT_MS, openDatabase, type Db } from '../../db/open'
import * as tables from '../../db/schema'
import { deleteInBatches, TimedSteps } from '../../db/maintenance'
import { isReadOnly, onReadOnlyFilesystem } from '../../db/read-only'
import { holdFile, releaseFile, replacedSince, type FileIdentity } from '../../db/file-identity'
import { databaseFileReplaced } from '../../http/errors'
import { WriteQueue } from '../../db/write-queue'
import { isBusy } from '../../db/busy'
import { RecordsReader } from '../../records/records-reader'
import type { RequestLogEntry } from '../../records/request-log'
import { budgetSetAt } from '../budget-set'
import { rollForNewBudget } from '../ended-period'
import { deleteKeySessionsOfKey, deleteKeySessionsOfUser, expiredBy } from '../ended-sessions'
import { newPeriodKind } from '../period-kind'
import { usageCostSince } from '../period-spend'
import { lastToStart, modelPriceRow, priceInsertParams, priceSql, type ModelPriceAnswer } from '../price-sql'
import { DatabaseReadOnly, DatabaseTakesNoWrites } from '../read-only'
import { MAX_QUEUED_LOG_ROWS, QueueCap } from '../queue-cap'
import { EXPIRING_STORED_IDS } from '../../db/expiring-stored-ids'
import { userWithoutHolds } from '../user-deletion'
import type { AlertRows, KeyLookupRow, OutboxEntry, PriceRow, PriceRows, RefusalAggregate, RefusalRows, SessionRows, Store, StoredGrowth, StoredResponseRow } from '../store'
import { sqliteAlertInsert, sqliteAlertRows } from './alert-rows'
import { sqliteRefusalRows } from './refusal-rows'
import { sqliteSessionRows } from './session-rows'
import { cutWal } from './cut-wal'
import { SqliteLedgerStore } from './ledger-store'

/** The default store: one SQLite file (WAL), written through the write queue (src/db/write-queue.ts). */
export class SqliteStore implements Store {
  readonly kind = 'sqlite'
  readonly tables = tables
  readonly ledger: SqliteLedgerStore
  readonly prices: PriceRows
  readonly records: RecordsReader
  readonly writes: WriteQueue
  readonly alerts: AlertRows
  readonly sessions: SessionRows
  readonly refusals: RefusalRows
  private readonly keyLookup
  /** The file the connection opened (src/db/file-identity.ts), and whether its path has since named another. */
  readonly fileOpened: FileIdentity | null
  private fileReplaced = false
  private readonly onError: (error: unknown) => void
  /** Writes an alert into the outbox, within the transaction under way if there is one. */
  private readonly insertAlert: (entry: OutboxEntry) => boolean
  private readonly insertLog: Statement<unknown, [number, string, string, string, number, number, string | null, string | null, string | null]>
  private readonly insertAggregate: Statement<unknown, [number, string, string, string, number, number, string | null, number, number]>
  private readonly updateAggregate: Statement<unknown, [number, number, number]>
  private readonly pruneLog: Statement<unknown, [number, number]>
  private readonly upsertResponse: Statement<unknown, [string, string, string, string, string, number | null, number | null, number | null, boolean | null, string | null, number]>
  private readonly growResponse: Statement<unknown, [string, string, string, string, string, number | null, number | null, number | null, boolean | null, string | null, number, number, number, number]>
  private readonly selectResponse: Statement<SqliteStoredResponseRow, [string, string]>
  private readonly selectResponses: Statement<SqliteStoredResponseRow, [string, string]>
  private readonly removeResponse: Statement<unknown, [string, string]>
  private readonly pruneResponses: Statement<unknown, [number, number]>
  private readonly deleteStoredOf: Statement<unknown, [string, number]>
  private readonly deleteKeysOf: Statement<unknown, [string, number]>
  private readonly reservations: Statement<{ n: number; amount: number }, []>

  constructor(readonly db: Db, onError: (error: unknown) => void = console.error, options: { maxQueuedLogRows?: number } = {}) {
    const client = db.$client
    this.onError = onError
    this.fileOpened = holdFile(client.filename)
    // The connection requests are served on: another process's lock is waited for off SQLite's busy handler.
    client.exec(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`)
    const logRows = new QueueCap(options.maxQueuedLogRows ?? MAX_QUEUED_LOG_ROWS, 'request-log row', 'tollgate_log_rows_dropped_total', onError)
    this.writes = new WriteQueue(client, onError, undefined, undefined, undefined, undefined, logRows)
    this.ledger = new SqliteLedgerStore(client, this.writes)
    this.prices = sqlitePriceRows(db, this.writes)
    this.records = new RecordsReader(this, client.filename)
    this.insertAlert = sqliteAlertInsert(client)
    this.alerts = sqliteAlertRows(client, this.writes, this.insertAlert)
    this.sessions = sqliteSessionRows(client, this.writes)
    this.refusals = sqliteRefusalRows(client, this.writes)
    this.keyLookup = db
      .select({
        id: tables.apiKeys.id, userId: tables.apiKeys.userId, expiresAt: tables.apiKeys.expiresAt, revokedAt: tables.apiKeys.revokedAt,
        allowedModels: tables.apiKeys.allowedModels, rpmLimit: tables.apiKeys.rpmLimit, userField: tables.apiKeys.userField, clampOutput: tables.apiKeys.clampOutput,
      })
      .from(tables.apiKeys)
      .where(eq(tables.apiKeys.keyHash, sql.placeholder('hash')))
      .prepare()
    this.insertLog = client.prepare(
      `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.insertAggregate = client.prepare(
      `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, count, last_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.updateAggregate = client.prepare('UPDATE api_request_log SET count = ?, last_at = ? WHERE id = ?')
    this.pruneLog = client.prepare(
      `DELETE FROM api_request_log WHERE id IN (SELECT id FROM api_request_log WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
    )
    this.upsertResponse = client.prepare(
      `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, expires_with, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET context_tokens = coalesce(excluded.context_tokens, context_tokens), media_parts = coalesce(excluded.media_parts, media_parts),
         context_bytes = coalesce(excluded.context_bytes, context_bytes), holds_audio = holds_audio OR excluded.holds_audio
       WHERE user_id = excluded.user_id`,
    )
    // max() of SQLite is NULL when an argument is: a size unknown stays unknown.
    this.growResponse = client.prepare(
      `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, expires_with, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET context_tokens = max(context_tokens + ?, excluded.context_tokens),
         media_parts = max(media_parts + ?, excluded.media_parts), context_bytes = max(context_bytes + ?, excluded.context_bytes),
         holds_audio = holds_audio OR excluded.holds_audio, model = excluded.model
       WHERE user_id = excluded.user_id`,
    )
    const columns = 'id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio'
    this.selectResponse = client.prepare(`SELECT ${columns} FROM stored_responses WHERE id = ? AND kind = ?`)
    // The ids as one JSON array: one statement, whatever their number.
    this.selectResponses = client.prepare(`SELECT ${columns} FROM stored_responses WHERE id IN (SELECT value FROM json_each(?)) AND kind = ?`)
    this.removeResponse = client.prepare("DELETE FROM stored_responses WHERE id = ? OR (kind = 'item' AND expires_with = ?)")
    this.pruneResponses = client.prepare(
      `DELETE FROM stored_responses WHERE rowid IN
         (SELECT rowid FROM stored_responses WHERE created_at < ? AND ${EXPIRING_STORED_IDS} ORDER BY created_at LIMIT ?)`,
    )
    this.deleteStoredOf = client.prepare(
      `DELETE FROM stored_responses WHERE rowid IN (SELECT rowid FROM stored_responses WHERE user_id = ? LIMIT ?)`,
    )
    // Each key's console sessions go with it (ON DELETE CASCADE, by console_sessions_key).
    this.deleteKeysOf = client.prepare(
      `DELETE FROM api_keys WHERE rowid IN (SELECT rowid FROM api_keys WHERE user_id = ? LIMIT ?)`,
    )
    this.reservations = client.prepare('SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM reservations')
  }

  static open(path: string, onError?: (error: unknown) => void): SqliteStore {
    return new SqliteStore(openDatabase(path), onError)
  }

  findKey(hash: string): KeyLookupRow | undefined {
    return this.keyLookup.get({ hash }) as KeyLookupRow | undefined
  }

  write<T>(run: (db: Db) => Promise<T>): Promise<T> {
    return this.writes.waitingForLock(() => run(this.db))
  }

  async insertKey(row: typeof tables.apiKeys.$inferInsert) {
    // IMMEDIATE: the user is read under the write lock, which another process's DELETE of it needs too.
    return this.writes.waitingForLock(() =>
      this.db.transaction(
        (tx) => {
          if (!tx.select({ id: tables.users.id }).from(tables.users).where(eq(tables.users.id, row.userId)).get()) return undefined
          return tx.insert(tables.apiKeys).values(row).returning().get()
        },
        { behavior: 'immediate' },
      ),
    )
  }

  async updateKey(id: string, changes: Partial<typeof tables.apiKeys.$inferInsert>, takeOverHolds: boolean, now = Date.now()) {
    // IMMEDIATE, as a reservation's: no hold can be taken on this key between the ceiling and the takeover.
    return this.writes.waitingForLock(() =>
      this.db.transaction(
        (tx) => {
          const before = tx.select({ maxBudget: tables.apiKeys.maxBudget, expiresAt: tables.apiKeys.expiresAt }).from(tables.apiKeys).where(eq(tables.apiKeys.id, id)).get()
          if (!before) return undefined
          if (takeOverHolds) this.ledger.takeOverKeyHolds(id)
          if (expiredBy(before.expiresAt, now)) tx.run(deleteKeySessionsOfKey(tables, id))
          return tx.update(tables.apiKeys).set({ ...changes, ...budgetSetAt(before.maxBudget, changes, now) }).where(eq(tables.apiKeys.id, id)).returning().get()
        },
        { behavior: 'immediate' },
      ),
    )
  }

  async revokeKey(id: string, now: number, event: (row: typeof tables.apiKeys.$inferSelect) => OutboxEntry) {
    return this.writes.waitingForLock(() =>
      this.db.transaction(
        (tx) => {
          const row = tx
            .update(tables.apiKeys)
            .set({ revokedAt: now, updatedAt: now })
            .where(and(eq(tables.apiKeys.id, id), isNull(tables.apiKeys.revokedAt)))
            .returning()
            .get()
          if (row) this.insertAlert(event(row))
          return row
        },
        { behavior: 'immediate' },
      ),
    )
  }

  async updateUser(
    id: string,
    changes: Partial<typeof tables.users.$inferInsert>,
    blocked?: (row: typeof tables.users.$inferSelect) => OutboxEntry,
    now = Date.now(),
  ) {
    // IMMEDIATE: the write lock is held from the start, so the count sees every settlement committed before
    // it, another worker's included, and none can land before the row is written.
    return this.writes.waitingForLock(() =>
      this.db.transaction(
        (tx) => {
          const { users } = tables
          const before = tx
            .select({ blocked: users.blocked, budgetPeriod: users.budgetPeriod, periodStart: users.periodStart, spend: users.spend, maxBudget: users.maxBudget, budgetSetAt: users.budgetSetAt })
            .from(users)
            .where(eq(users.id, id))
            .get()
          if (!before) return undefined
          const kind = newPeriodKind(before, changes, now)
          const set = {
            ...changes,
            ...budgetSetAt(before.maxBudget, changes, now),
            ...(kind ? { ...kind, spend: usageCostSince(tables, id, kind.periodStart) } : rollForNewBudget(before, changes, now)),
          }
          const row = tx.update(tables.users).set(set).where(eq(tables.users.id, id)).returning().get()!
          if (row.blocked && !before.blocked) tx.run(deleteKeySessionsOfUser(tables, id))
          if (blocked && row.blocked && !before.blocked) this.insertAlert(blocked(row))
          return { row, wasBlocked: before.blocked }
        },
        { behavior: 'immediate' },
      ),
    )
  }

  async deleteUser(id: string): Promise<boolean> {
    if (!this.db.select({ id: tables.users.id }).from(tables.users).where(userWithoutHolds(tables, id)).get()) return false
    await deleteInBatches((rows) => this.writes.waitingForLock(() => this.deleteStoredOf.run(id, rows).changes), () => false, new TimedSteps())
    await deleteInBatches((rows) => this.writes.waitingForLock(() => this.deleteKeysOf.run(id, rows).changes), () => false, new TimedSteps())
    // One statement under the write lock, which every hold is written under: none committed can be missed.
    const deleted = await this.write((db) => db.delete(tables.users).where(userWithoutHolds(tables, id)).returning({ id: tables.users.id }))
    return deleted.length > 0
  }

  /** Refusal counts are added up in one queued write per count and hour (sqliteRefusalRows): none is dropped. */
  droppedWhileUnwritable() {
    return { logRows: this.writes.droppable.dropped, refusalCounts: 0 }
  }

  appendRequestLog(e: RequestLogEntry): void {
    // Bound by position: measurably cheaper than by name, once per request.
    this.writes.deferDroppable(() => this.insertLog.run(e.createdAt, e.requestId, e.method, e.route, e.status, e.latencyMs, e.clientIp, e.keyId, e.userId))
  }

  /**
   * One process counts an aggregate: its row is inserted once, then brought up to the process's count. One
   * write per aggregate is queued at a time, until its commit, writing the count as it is when it runs: while
   * the database takes no writes (another process's lock, a full disk), later syncs have nothing to add to the
   * queue. Its writes are request-log rows: dropped past the log's cap, and with them the aggregate's later counts.
   */
  storeRefusals(a: RefusalAggregate): void {
    const inserted = a.stored > 0
    a.stored = a.count
    if (a.queued) return
    a.queued = true
    const e = a.first
    const written = () => void (a.queued = false)
    if (!inserted)
      this.writes.deferDroppable(() => {
        a.rowId = Number(this.insertAggregate.run(e.createdAt, e.requestId, e.method, e.route, e.status, e.latencyMs, e.clientIp, a.count, a.lastAt).lastInsertRowid)
      }, written)
    else
      this.writes.deferDroppable(() => {
        // Its insert failed (and was reported): nothing to bring up to date.
        if (a.rowId !== undefined) this.updateAggregate.run(a.count, a.lastAt, a.rowId)
      }, written)
  }

  /**
   * In small batches that leave the request thread free between them. The WAL's space comes back without a
   * checkpoint on this thread (see src/db/checkpointer.ts).
   */
  pruneRequestLog(cutoff: number, stopped: () => boolean = () => false): Promise<number> {
    return deleteInBatches((rows) => this.pruneLog.run(cutoff, rows).changes, stopped, new TimedSteps())
  }

  recordResponse(s: StoredResponseRow, now: number, growBy?: StoredGrowth): void {
    const row = [s.id, s.kind, s.user_id, s.provider, s.model, s.context_tokens, s.media_parts, s.context_bytes, s.holds_audio, s.expires_with ?? null, now] as const
    if (growBy === undefined) this.writes.defer(() => this.upsertResponse.run(...row))
    else this.writes.defer(() => this.growResponse.run(...row, growBy.tokens, growBy.mediaParts, growBy.bytes))
  }

  async findResponse(id: string, kind: StoredResponseRow['kind']): Promise<StoredResponseRow | null> {
    // A lookup writes what is queued first, so an id is found as soon as its creator has seen it.
    await this.writes.flushed()
    const row = this.selectResponse.get(id, kind)
    return row ? storedResponseRow(row) : null
  }

  async findResponses(ids: readonly string[], kind: StoredResponseRow['kind']): Promise<StoredResponseRow[]> {
    await this.writes.flushed()
    return this.selectResponses.all(JSON.stringify(ids), kind).map(storedResponseRow)
  }

  async flushResponses(): Promise<void> {
    await this.writes.flushed()
  }

  /**
   * Asks for the file's write lock and lets it go at once, waiting LOCK_WAIT_MS at most (a sibling's commit), as any
   * write does, but on the event loop: SQLite's busy handler would sleep the only thread, and a burst of ids not
   * found (each asks) would hold every other request for seconds. The asks made meanwhile share the one under way.
   */
  responsesWritable(): Promise<boolean> {
    return (this.writableAsked ??= this.writableWithin(LOCK_WAIT_MS).finally(() => (this.writableAsked = null)))
  }

  private writableAsked: Promise<boolean> | null = null

  private async writableWithin(ms: number): Promise<boolean> {
    const until = performance.now() + ms
    for (;;) {
      if (this.takesWriteLockNow()) return true
      if (performance.now() >= until) return false
      await Bun.sleep(LOCK_ASK_EVERY_MS)
    }
  }

  /** One ask for the file's write lock, let go at once; false, without waiting, while another process holds it. */
  private takesWriteLockNow(): boolean {
    const client = this.db.$client
    // A transaction of this connection's own under way has the lock (never between two awaits: the queue's run whole).
    if (client.inTransaction) return true
    const { timeout } = client.query('PRAGMA busy_timeout').get() as { timeout: number }
    client.exec('PRAGMA busy_timeout = 0')
    try {
      client.exec('BEGIN IMMEDIATE')
      client.exec('ROLLBACK')
      return true
    } catch (error) {
      if (isBusy(error)) return false
      throw error
    } finally {
      client.exec(`PRAGMA busy_timeout = ${timeout}`)
    }
  }

  /** The file's lock stops every write, a hold's too: a request is refused before its provider call already. */
  responsesKeptBack(): boolean {
    return false
  }

  /** A sibling's writes kept back wait for the file's lock, which this asks for. */
  async responsesKeptBackAnywhere(): Promise<boolean> {
    return !(await this.responsesWritable())
  }

  forgetResponse(id: string): void {
    this.writes.defer(() => this.removeResponse.run(id, id))
  }

  /** In small batches, as the request log's. */
  pruneStoredResponses(cutoff: number, stopped: () => boolean = () => false): Promise<number> {
    return deleteInBatches((rows) => this.pruneResponses.run(cutoff, rows).changes, stopped, new TimedSteps())
  }

  async openReservations() {
    return this.reservations.get()!
  }

  /**
   * The database answers, and its file takes writes: one on a filesystem remounted read-only, or on a full disk,
   * answers `SELECT 1` all the same while every hold fails, and a load balancer would keep sending this process
   * requests. Nothing is written per probe: a full disk is the last commit's failure, kept until one lands.
   */
  async ping(): Promise<void> {
    // Prepared on every call: a statement prepared once keeps answering even after its database is closed.
    const probe = this.db.$client.prepare('SELECT 1 AS ok')
    probe.get()
    probe.finalize()
    if (onReadOnlyFilesystem(this.db.$client.filename)) throw new DatabaseReadOnly()
    if (this.checkFile()) throw new DatabaseTakesNoWrites('replaced', 'the database file was replaced under the running gateway: restart it')
    const failed = this.writes.unwritable
    if (failed !== null) throw unwritableFor(failed)
  }

  /**
   * Whether the file the connection has open still has a name and is still the one its path names, when it names
   * one (two stats: each /health, and each round of the checkpointer, src/db/checkpointer.ts). Once replaced (a
   * restore renamed into place while serving, or the file removed), every hold and admin write is refused (503): what this connection writes would go into the unlinked
   * file and be lost. Said once; only a restart opens the new file.
   */
  checkFile(): boolean {
    if (!this.fileReplaced && replacedSince(this.db.$client.filename, this.fileOpened)) this.replacedUnder()
    return this.fileReplaced
  }

  /** The file was found replaced (here, or by the checkpointer's thread). */
  replacedUnder(): void {
    if (this.fileReplaced) return
    this.fileReplaced = true
    this.writes.refuseFrom(databaseFileReplaced())
    this.onError(new Error(`the database file ${this.db.$client.filename} was replaced under the running gateway (renamed over or removed): holds and admin writes are refused 503 until it is restarted, which opens the file now there`))
  }

  async flush(): Promise<void> {
    await this.writes.flushed()
  }

  /**
   * Writes what is queued, then copies the WAL back into the database file and cuts it to nothing, so that
   * the file alone holds everything once the gateway has stopped (a backup may copy only it). SQLite does
   * that by itself only on the close of the last connection, which this one may not be: the records
   * reader's thread, just terminated, may still have its own open.
   */
  async close(): Promise<void> {
    await this.records.stop()
    const client = this.db.$client
    // Nothing left to serve: what is queued may wait the full busy timeout for a lock rather than be lost.
    client.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    this.writes.close()
    await cutWal(client)
    client.close()
    releaseFile(this.fileOpened)
  }
}

/** What a commit's failure (SQLITE_FULL, _IOERR, _READONLY: WriteQueue.unwritable) says of the database. */
function unwritableFor(error: unknown): DatabaseTakesNoWrites {
  if (isReadOnly(error)) return new DatabaseReadOnly()
  const full = String((error as { code?: unknown }).code).startsWith('SQLITE_FULL')
  return new DatabaseTakesNoWrites(full ? 'full' : 'io_error')
}

/** How often a lock found held is asked for again, within LOCK_WAIT_MS (responsesWritable). */
const LOCK_ASK_EVERY_MS = 5

/** A stored id's row as SQLite gives it: its boolean a 0 or a 1, or null. */
type SqliteStoredResponseRow = Omit<StoredResponseRow, 'holds_audio'> & { holds_audio: number | null }

const storedResponseRow = (row: SqliteStoredResponseRow): StoredResponseRow => ({ ...row, holds_audio: row.holds_audio === null ? null : row.holds_audio === 1 })

function sqlitePriceRows(db: Db, writes: WriteQueue): PriceRows {
  const client = db.$client
  const q = priceSql({ p: (n) => `?${n}`, json: (n) => `?${n}` })
  const current = client.prepare<PriceRow, [number]>(q.current)
  const nextChange = client.prepare<{ at: number | null }, [number]>(q.nextChange)
  const page = client.prepare<PriceRow, [number, string, number, number]>(q.page)
  const ofModel = client.prepare<ModelPriceAnswer, [string, number]>(q.ofModel)
  const insert = client.prepare<PriceRow, any[]>(q.insert)
  const basedOnCheck = client.prepare<{ in_force: number | null; written_since: number }, [string, number, number, number]>(q.basedOnCheck)
  const markDeleted = client.prepare<PriceRow, [number, string, number]>(q.markDeleted)
  const cancelScheduled = client.prepare<unknown, [number, string]>(q.cancelScheduled)
  const history = client.prepare<PriceRow & { ended_at: number | null }, [string | null, number | null, number, number]>(q.history)
  const record = client.prepare<PriceRow & { ended_at: number | null }, [number]>(q.record)
  const countOf = client.prepare<{ n: number }, [string]>(q.countOf)
  return {
    current: async (now) => current.all(now),
    nextChange: async (now) => nextChange.get(now)?.at ?? null,
    page: async (after, limit, offset, now) => page.all(now, after, limit, offset),
    ofModel: async (model, now) => modelPriceRow(ofModel.get(model, now)!),
    // IMMEDIATE: the write lock from the check on, so no other process's price write comes between the two.
    insert: (row, basedOn) =>
      writes.waitingForLock(() =>
        client.transaction(() => {
          if (basedOn !== undefined) {
            const found = basedOnCheck.get(row.model, basedOn.at, basedOn.startsBy, basedOn.id ?? 0)!
            if (found.in_force !== basedOn.id || found.written_since) return null
          }
          return insert.get(...priceInsertParams(row))!
        }).immediate(),
      ),
    unprice: (model, { at, inForceFrom }) =>
      writes.waitingForLock(() =>
        db.$client.transaction(() => {
          const inForce = lastToStart(markDeleted.all(at, model, inForceFrom))
          const { changes } = cancelScheduled.run(at, model)
          return { inForce, cancelledScheduled: changes }
        })(),
      ),
    history: async (model, beforeId, limit, offset) => history.all(model, beforeId, limit, offset),
    record: async (id) => record.get(id),
    countOf: async (model) => countOf.get(model)!.n,
  }
}
