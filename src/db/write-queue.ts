import type { Database } from 'bun:sqlite'
import { gatewayStopping } from '../http/errors'
import { isBusy } from './busy'
import { BUSY_TIMEOUT_MS } from './open'
import { MAX_QUEUED_LOG_ROWS, QueueCap } from '../store/queue-cap'

/**
 * Groups writes into transactions: a commit costs a write system call per page it changed, and rows
 * written together share pages, so one commit for many rows is what lets the ledger go past the
 * per-transaction limit.
 *
 * Two lanes. A budget reservation is waited for (`submit`): its caller goes on only once the commit
 * holding it is done, so the reservations of one turn of the event loop are committed together at its
 * end. Writes nobody waits for (settlements, request-log rows) linger up to `lingerMs` and then commit
 * together: they touch the most pages (the usage and log tables and their indexes), and a few
 * milliseconds' worth of them share those pages. A lingering settlement only makes budgets stricter
 * for that long, since its hold still counts; readers call `flush()` first, which writes both lanes.
 *
 * One failing write cannot undo the others, and a write of several statements lands whole or not at all.
 * Writes do not throw in the normal course (a refused reservation is a value, not an exception), so a
 * batch first runs with no savepoints, which cost two statements per write; if any write throws, the
 * batch is rolled back and run again with each write in its own savepoint, the failing one alone undone.
 *
 * Another process holding the write lock (a sibling worker committing, an operator's sqlite3 session, a
 * backup) is waited for on the event loop, never in SQLite's busy handler, which would hold the only
 * thread: the gateway's connection waits a few milliseconds at most (LOCK_WAIT_MS, enough for a sibling's
 * commit), and a commit that finds the file still locked puts its writes back, ahead of any queued since,
 * and tries them all again, in one commit, on a timer (FIRST_RETRY_MS, backing off to LAST_RETRY_MS).
 * A waited-for write is refused (SQLITE_BUSY, 503 database_busy) by the first failed try once
 * `busyTimeoutMs` has passed since it was submitted; its caller hears nothing before, so a hold is still
 * acted on only once its commit is done. Lingering writes are not dropped for a lock: they wait for it (up to
 * the droppable lane's cap, below).
 * A lock held past `busyTimeoutMs` is reported once (a sibling's brief one is not an error).
 *
 * A commit that fails otherwise (a full disk, a database that takes no writes) refuses the waited-for writes
 * in it, and puts the lingering ones back, to be tried again after `retryMs`. It is reported once, not at every
 * commit that fails the same way meanwhile, and kept (`unwritable`) until a commit lands: the health check tells it
 * without writing anything, and the lingering writes' tries (the refused requests' log rows among them) find the
 * disk's room again with no request needed.
 *
 * Lingering writes that may be lost (`deferDroppable`: request-log rows) wait in a lane of their own, which keeps
 * the newest `droppable.max` of them while commits fail, for a lock or otherwise: a request refused 503 meanwhile
 * still queues its row, and a long outage under load would otherwise take the process's memory, and with it the
 * settlements queued beside them. Settlements are never dropped: no hold is taken while commits fail, so they are
 * bounded by the holds in flight.
 *
 * A process killed before a flush loses what was queued: a lost settlement leaves its hold in place,
 * which the sweeper later settles at its full amount; a lost log row is lost; a lost reservation was
 * never acted on, because its caller was still waiting.
 */
export class WriteQueue {
  /** The backoff of a write waiting out another process's lock (waitingForLock): the others wait for its next try. */
  private lockWatch: Promise<void> | null = null
  /** When a try of waitingForLock last found the file locked, and its SQLITE_BUSY; null once a try got through. */
  private lockLastHeld: { at: number; error: unknown } | null = null
  /** Waited-for writes, and the callers waiting for them. */
  private urgent: QueuedWrite[] = []
  private waiting: Array<Waiter<any>> = []
  /** Writes nobody waits for. */
  private lazy: QueuedWrite[] = []
  /** Writes nobody waits for that may be dropped, oldest first, past `droppable.max` (deferDroppable). */
  private droppableLane: QueuedWrite[] = []
  private urgentScheduled = false
  /** The linger's timer, or the next try's after a failed commit. */
  private lingering: ReturnType<typeof setTimeout> | null = null
  /** When commits began finding the file locked by another process; null while they do not. */
  private busySince: number | null = null
  private busyReported = false
  /** The error of the last commit that failed for the database's sake (full, I/O, read-only), until one lands. */
  private failedFor: unknown = null
  private failureReported = false
  private retryDelay = FIRST_RETRY_MS
  private closed = false
  /** Set by `refuseFrom`: what every waited-for write is refused with from then on. */
  private refusal: unknown = null
  /** Set when the fast run of a batch was undone by one of its writes rather than by the transaction. */
  private aWriteFailed = false
  /** That write's error. */
  private writeError: unknown
  private readonly runFast: (writes: QueuedWrite[]) => void
  private readonly runCarefully: (writes: QueuedWrite[]) => void

  constructor(
    db: Database,
    private readonly onError: (error: unknown) => void = console.error,
    private readonly lingerMs = 5,
    /** Lazy writes that are committed at once rather than at the end of the linger. */
    private readonly maxLazy = 2_000,
    /** How long lingering writes whose commit failed (other than for a lock) wait before the next try. */
    private readonly retryMs = 1_000,
    /** How long a waited-for write may wait for another process's lock before it is refused. */
    private readonly busyTimeoutMs = BUSY_TIMEOUT_MS,
    /** How many droppable writes are kept while commits fail, and the count of those dropped. */
    readonly droppable = new QueueCap(MAX_QUEUED_LOG_ROWS, 'request-log row', 'tollgate_log_rows_dropped_total', onError),
  ) {
    // IMMEDIATE: a reservation reads a budget and debits it, so the write lock must be held from the
    // first read, or another process could read the same figures and debit them too.
    this.runFast = db.transaction((writes: QueuedWrite[]) => {
      for (const w of writes) {
        try {
          w.run()
        } catch (error) {
          this.aWriteFailed = true
          this.writeError = error
          throw error
        }
      }
    }).immediate
    // Called inside the outer transaction, bun:sqlite makes this a savepoint.
    const savepoint = db.transaction((w: QueuedWrite) => w.run())
    this.runCarefully = db.transaction((writes: QueuedWrite[]) => {
      for (const w of writes) {
        try {
          savepoint(w)
        } catch (error) {
          // Not this write's own failure (a disk filling up part way): SQLite may have rolled the whole
          // transaction back, and the savepoints after it would each commit alone, outside it.
          if (failsTheTransaction(error) || !db.inTransaction) throw error
          // A waiter hears of its own error; any other is reported here.
          if (!w.waited) this.onError(error)
        }
      }
    }).immediate
  }

  /** Commits `writes` in one transaction; throws only when the transaction itself fails (busy, disk). */
  private runAll(writes: QueuedWrite[]): void {
    this.aWriteFailed = false
    try {
      this.runFast(writes)
    } catch (error) {
      // Not a write but the transaction itself (busy, disk): running again would fail the same way.
      if (!this.aWriteFailed) throw error
      // A write that failed for the database's sake (a full disk, an I/O error, a database taking no writes):
      // SQLite may have rolled the whole transaction back, and a run in savepoints would fail the same way,
      // ending in a bare "cannot commit": the write's own error says what happened.
      if (failsTheTransaction(this.writeError)) throw this.writeError
      this.runCarefully(writes)
    }
  }

  /**
   * Queues a write of several statements and returns what it returns, once it is committed (at the end
   * of this turn). A write that throws rolls back alone and rejects with its error; a commit that fails
   * rejects every waiter in it, but for another process's lock, which each waits for up to `busyTimeoutMs`.
   */
  submit<T>(write: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the database is closed'))
    if (this.refusal !== null) return Promise.reject(this.refusal)
    const waiter = new Waiter<T>(performance.now() + this.busyTimeoutMs)
    this.urgent.push({ run: () => waiter.run(write), waited: true })
    this.waiting.push(waiter)
    // While the file is locked, the next try's timer takes it.
    if (!this.urgentScheduled && (this.busySince === null || this.lingering === null)) {
      this.urgentScheduled = true
      setImmediate(this.flushUrgent)
    }
    return waiter.promise
  }

  /**
   * Queues a write (of one statement or several) that nobody waits for. `then` is given what it returned
   * once the transaction that ran it has committed: a write is run again when its batch is rolled back and
   * retried, so what it returned before the commit may not be what was written.
   */
  defer<T>(write: () => T, then?: (result: T) => void): void {
    if (this.refusedClosed()) return
    this.lazy.push(lingeringWrite(write, then))
    this.linger()
  }

  /**
   * `defer`, for a write nothing else depends on (a request-log row): it is dropped, the oldest first, once
   * `droppable.max` such writes are queued, which only commits failing for long lets happen.
   */
  deferDroppable<T>(write: () => T, then?: (result: T) => void): void {
    if (this.refusedClosed()) return
    this.droppableLane.push(lingeringWrite(write, then))
    this.droppable.trim(this.droppableLane)
    this.linger()
  }

  private refusedClosed(): boolean {
    if (this.closed) this.onError(new Error('write queued after the database was closed; dropped'))
    return this.closed
  }

  /**
   * From now on refuses every write someone waits for (a hold, an admin change) and every read that flushes first,
   * with `error`: the connection's file is no longer the database (replaced under it), and nothing it writes
   * would be kept. Writes queued or deferred still go into it: no caller is told of them.
   */
  refuseFrom(error: unknown): void {
    this.refusal ??= error
    for (const w of this.takeUrgent().waiting) w.fail(error)
  }

  /** Writes queued and not yet committed, in every lane. */
  get queued(): number {
    return this.lazy.length + this.droppableLane.length + this.urgent.length
  }

  private linger(): void {
    if (this.lazy.length + this.droppableLane.length === this.maxLazy && this.busySince === null) setImmediate(this.flushScheduled)
    else if (this.lingering === null) this.lingering = setTimeout(this.flushScheduled, this.lingerMs)
  }

  /** The reservations of this turn, in their own commit. */
  private readonly flushUrgent = () => {
    this.urgentScheduled = false
    const { writes, waiting } = this.takeUrgent()
    if (writes.length === 0) return
    try {
      this.runAll(writes)
    } catch (error) {
      this.commitFailed(error, { lazy: [], droppable: [] }, writes, waiting)
      return
    }
    this.committed()
    for (const w of waiting) w.tell()
  }

  private readonly flushScheduled = () => {
    try {
      this.flush()
    } catch {
      // Reported by commitFailed, once.
    }
  }

  /** Commits everything queued in both lanes now, or throws (a lock, at once). Readers await `flushed()`. */
  flush(): void {
    if (this.lingering !== null) {
      clearTimeout(this.lingering)
      this.lingering = null
    }
    const lazy = this.lazy
    const droppable = this.droppableLane
    this.lazy = []
    this.droppableLane = []
    const { writes, waiting } = this.takeUrgent()
    const all = droppable.length === 0 && writes.length === 0 ? lazy : lazy.concat(droppable, writes)
    if (all.length === 0) return
    try {
      this.runAll(all)
    } catch (error) {
      this.commitFailed(error, { lazy, droppable }, writes, waiting)
      throw error
    }
    this.committed()
    for (const w of waiting) w.tell()
    for (const w of lazy) if (w.committed) this.tellCommitted(w.committed)
    for (const w of droppable) if (w.committed) this.tellCommitted(w.committed)
  }

  private tellCommitted(then: () => void): void {
    try {
      then()
    } catch (error) {
      this.onError(error)
    }
  }

  /**
   * `flush()`, waiting on the event loop while another process holds the lock: rejects with SQLITE_BUSY
   * once `busyTimeoutMs` has passed. What readers of what the queue writes await.
   */
  flushed(): Promise<void> {
    return this.waitingForLock(() => this.flush())
  }

  /**
   * Runs `write` (one statement, or a transaction of its own) straight on the connection, outside the queue,
   * trying it again on the event loop while another process holds the lock, as a commit of the queue does:
   * rejects with SQLITE_BUSY once `busyTimeoutMs` has passed. For the writes that are not the hot path's
   * (admin changes, console sessions, alert rows): each try waits only LOCK_WAIT_MS in the busy handler, and
   * a try refused for the lock wrote nothing, so it is simply made again.
   */
  async waitingForLock<T>(write: () => T | Promise<T>): Promise<T> {
    if (this.refusal !== null) throw this.refusal
    const until = performance.now() + this.busyTimeoutMs
    for (let delay = FIRST_RETRY_MS; ; delay = Math.min(delay * 2, LAST_RETRY_MS)) {
      // Each try holds the thread in the busy handler while the lock is held: while one write waits the lock
      // out, the others wait for its next try instead of making theirs too (ten waiters were ten stalls a round).
      while (this.lockWatch) {
        await this.lockWatch
        // Found held since this write's deadline: refused as its own try would be. Waiters that began together end
        // together, and a try each, in a row, held the thread for seconds (150 GETs of a stored id, 3 s).
        if (this.lockLastHeld && this.lockLastHeld.at >= until) throw this.lockLastHeld.error
      }
      try {
        const written = await write()
        this.lockLastHeld = null
        return written
      } catch (error) {
        if (!isBusy(error)) throw error
        this.lockLastHeld = { at: performance.now(), error }
        // The others wait for the next try, this write's refusal or not.
        const watch: Promise<void> = (this.lockWatch ??= Bun.sleep(delay).then(() => {
          if (this.lockWatch === watch) this.lockWatch = null
        }))
        if (this.lockLastHeld.at >= until) throw error
        await watch
      }
    }
  }

  /**
   * Why the last commit failed, while the database takes no writes (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY and
   * their extended codes); null once a commit lands.
   */
  get unwritable(): unknown {
    return this.failedFor
  }

  private committed(): void {
    this.busySince = null
    this.busyReported = false
    this.failedFor = null
    this.failureReported = false
    this.retryDelay = FIRST_RETRY_MS
    this.droppable.written()
  }

  /**
   * A commit that failed as a whole. For a lock: the waited-for writes submitted `busyTimeoutMs` ago or
   * more are refused, the others and the lingering ones put back for the next try. Otherwise every
   * waited-for write is refused, the lingering ones tried again after `retryMs`.
   */
  private commitFailed(error: unknown, lazy: Lingering, writes: QueuedWrite[], waiting: Array<Waiter<any>>): void {
    if (!isBusy(error)) {
      for (const w of waiting) w.fail(error)
      this.putBack(lazy, [], [], this.retryMs)
      if (takesNoWrites(error)) this.failedFor = error
      // Once an outage: under load every commit meanwhile fails the same way, a few hundred a second.
      if (!this.failureReported) {
        this.failureReported = true
        this.onError(error)
      }
      return
    }
    const now = performance.now()
    this.busySince ??= now
    const keptWrites: QueuedWrite[] = []
    const kept: Array<Waiter<any>> = []
    let refused = false
    waiting.forEach((w, i) => {
      if (w.deadline <= now) {
        w.fail(error)
        refused = true
      } else {
        keptWrites.push(writes[i]!)
        kept.push(w)
      }
    })
    this.putBack(lazy, keptWrites, kept, this.retryDelay)
    this.retryDelay = Math.min(this.retryDelay * 2, LAST_RETRY_MS)
    if (!this.busyReported && (refused || now - this.busySince >= this.busyTimeoutMs)) {
      this.busyReported = true
      this.onError(error)
    }
  }

  /** Writes whose commit failed, ahead of any queued since in their lane, tried again after `delayMs`. */
  private putBack(lazy: Lingering, urgent: QueuedWrite[], waiting: Array<Waiter<any>>, delayMs: number): void {
    if (this.closed) {
      for (const w of waiting) w.fail(new Error('the database is closed'))
      return
    }
    if (lazy.lazy.length === 0 && lazy.droppable.length === 0 && urgent.length === 0) return
    this.lazy = this.lazy.length === 0 ? lazy.lazy : lazy.lazy.concat(this.lazy)
    this.droppableLane = this.droppableLane.length === 0 ? lazy.droppable : lazy.droppable.concat(this.droppableLane)
    this.droppable.trim(this.droppableLane)
    this.urgent = this.urgent.length === 0 ? urgent : urgent.concat(this.urgent)
    this.waiting = this.waiting.length === 0 ? waiting : waiting.concat(this.waiting)
    if (this.lingering !== null) clearTimeout(this.lingering)
    this.lingering = setTimeout(this.flushScheduled, delayMs)
  }

  private takeUrgent() {
    const taken = { writes: this.urgent, waiting: this.waiting }
    this.urgent = []
    this.waiting = []
    return taken
  }

  /**
   * Writes what is queued in the lingering lane, refuses the waited-for writes still queued (503
   * gateway_stopping) and anything later: call before closing the database. What a lock held past the busy
   * timeout (or a full disk) keeps from being written is dropped, and said, with its count: the stop goes on
   * to close the database rather than throw out of it.
   */
  close(): void {
    // Nobody has acted on a reservation still queued (waiting for another process's lock, or for its turn's
    // end), and the stop has cut the calls it would pay for: committed now, its release would come after the
    // close and be dropped, leaving the hold for the next start's sweeper to charge in full.
    for (const w of this.takeUrgent().waiting) w.fail(gatewayStopping())
    try {
      this.flush()
    } catch (error) {
      const left = this.lazy.length + this.droppableLane.length + this.urgent.length
      this.lazy = []
      this.droppableLane = []
      this.onError(new Error(`${left} queued write(s) not written at the stop (${String(error)}); dropped: holds left open are the sweeper's`))
    } finally {
      this.closed = true
      if (this.lingering !== null) clearTimeout(this.lingering)
      this.lingering = null
      for (const w of this.takeUrgent().waiting) w.fail(new Error('the database is closed'))
    }
  }
}

/** The first try again after a commit found the file locked by another process, and the longest wait between tries. */
const FIRST_RETRY_MS = 10
const LAST_RETRY_MS = 50

/**
 * Errors of the database, not of the write: after them SQLite may roll the whole transaction back
 * (https://sqlite.org/lang_transaction.html), or, taking no writes (SQLITE_READONLY), it refuses every write alike.
 */
const failsTheTransaction = (error: unknown): boolean =>
  /^SQLITE_(FULL|IOERR|NOMEM|BUSY|READONLY)/.test(String((error as { code?: unknown } | null)?.code ?? ''))

/** The database takes no writes, until something outside the gateway changes: room on the disk, a remount. */
const takesNoWrites = (error: unknown): boolean => /^SQLITE_(FULL|IOERR|READONLY)/.test(String((error as { code?: unknown } | null)?.code ?? ''))

/** The lingering writes of a failed commit, by lane. */
interface Lingering {
  lazy: QueuedWrite[]
  droppable: QueuedWrite[]
}

interface QueuedWrite {
  run(): void
  /** Someone waits for it (`submit`), and is told of its error. */
  waited: boolean
  /** A deferred write's `then`, with what its last run returned; unset when that run threw (undone). */
  committed?: () => void
}

/** A write nobody waits for; with `then`, told what its last run returned once the commit that ran it is done. */
function lingeringWrite<T>(write: () => T, then?: (result: T) => void): QueuedWrite {
  if (then === undefined) return { run: write, waited: false }
  const w: QueuedWrite = {
    waited: false,
    run: () => {
      w.committed = undefined
      const result = write()
      w.committed = () => then(result)
    },
  }
  return w
}

/** One `submit` caller: the write's result or error is kept until the commit decides which to tell. */
class Waiter<T> {
  readonly promise: Promise<T>
  /** When it stops waiting for another process's lock. */
  readonly deadline: number
  private resolve!: (value: T) => void
  private reject!: (error: unknown) => void
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined

  constructor(deadline: number) {
    this.deadline = deadline
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  /** Runs the write and keeps its result; an error is kept too, and thrown on to undo the write. */
  run(write: () => T): void {
    try {
      this.outcome = { ok: true, value: write() }
    } catch (error) {
      this.outcome = { ok: false, error }
      throw error
    }
  }

  tell(): void {
    const o = this.outcome
    if (!o) this.reject(new Error('write was not run'))
    else if (o.ok) this.resolve(o.value)
    else this.reject(o.error)
  }

  fail(error: unknown): void {
    this.reject(error)
  }
}
