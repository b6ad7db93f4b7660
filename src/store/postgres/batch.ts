import type { SQL, TransactionSQL } from 'bun'
import { hasNul } from '../../http/nul'
import { landedLate } from '../late-write'
import type { QueueCap } from '../queue-cap'

/**
 * Postgres text and jsonb hold no NUL character, and its JSON parser refuses the escape JSON.stringify writes for
 * a lone UTF-16 surrogate (which a JSON body may carry): each is written as U+FFFD, as the refusal counts write a
 * model name.
 */
export const storableText = (s: string): string => (hasNul(s) ? s.replaceAll('\u0000', '\ufffd') : s).toWellFormed()

/** `row` with every string in it storable (storableText); the row itself when it had nothing to repair. */
export function withStorableText<T>(row: T): T {
  if (typeof row === 'string') return storableText(row) as T
  if (row === null || typeof row !== 'object') return row
  let changed = false
  const out: any = Array.isArray(row) ? [] : {}
  for (const [k, v] of Object.entries(row)) {
    out[k] = withStorableText(v)
    changed ||= out[k] !== v
  }
  return changed ? out : row
}

/** The SQLSTATE of a Postgres error (drizzle wraps it as the cause). */
export const sqlStateOf = (error: unknown): string => {
  const e = error as { errno?: unknown; cause?: { errno?: unknown } } | null
  return String(e?.errno ?? e?.cause?.errno ?? '')
}

/**
 * Postgres refused the rows for what they hold (SQLSTATE class 22, data exception: a NUL in text, a number
 * out of range; class 23, integrity: a constraint), not for its own state: sent again as they are, they
 * fail again.
 */
export const refusesData = (error: unknown): boolean => /^2[23]/.test(sqlStateOf(error))

/**
 * Postgres ended the session for idling in its transaction (idle_in_transaction_session_timeout): a COMMIT sent then
 * never reached it. A starved process meets this between its last statement and its COMMIT.
 */
const endedIdleInTransaction = (error: unknown): boolean => sqlStateOf(error) === '25P03'

/**
 * Whether a transaction that failed with `error` may have committed all the same (its answer lost, a deadline passed):
 * only if its COMMIT was sent, and its session was not ended idle before the COMMIT reached it (endedIdleInTransaction).
 * Otherwise nothing of it landed, and its rows may be sent again.
 */
export const mayHaveLanded = (commitSent: boolean, error: unknown): boolean => commitSent && !endedIdleInTransaction(error)

/** Failures of writes (`writeNotingCommit`) that came before their COMMIT was sent: nothing of them landed. */
const beforeCommit = new WeakSet<object>()

/** Whether a write's failure came before its COMMIT was sent (writeNotingCommit): then nothing of it landed. */
export const failedBeforeCommit = (error: unknown): boolean => typeof error === 'object' && error !== null && beforeCommit.has(error)

/**
 * A background write in one transaction whose failure says whether its COMMIT had been sent (failedBeforeCommit).
 * A write that failed after it may have landed (the answer lost, a deadline passed): a writer that sends no failed
 * batch again, lest it land twice (`retry: 'uncommitted'`), still sends again one that failed before it (a session
 * ended, Postgres down or read-only, a deadline passed mid-statement, or the session ended idle before the COMMIT
 * reached it), whose rows would otherwise be lost.
 */
export async function writeNotingCommit(sql: SQL, write: (tx: TransactionSQL) => Promise<unknown>): Promise<void> {
  let commitSent = false
  await sql
    .begin(async (tx) => {
      await write(tx)
      // Bun sends the COMMIT once this returns.
      commitSent = true
    })
    .catch((error: unknown) => {
      if (!mayHaveLanded(commitSent, error) && typeof error === 'object' && error !== null) beforeCommit.add(error)
      throw error
    })
}

/**
 * How long a statement writing rows in the background (settlements, request-log rows, refusal counts, stored
 * response ids) may wait for a lock. Something may hold their tables for minutes (a VACUUM FULL, an index
 * build, a newer replica's migration): a settlement waiting on that holds its users' rows, and, riding in a
 * reservation batch, the batch's every hold, until the deadline refuses them; and a batch given up on at the
 * deadline keeps its pooled connection while the writer's next batch takes another, until none is left for a
 * hold. Past this Postgres refuses the statement (lockTimedOut): nothing of it is written, and its rows are
 * sent again later (BatchWriter).
 */
export const ROWS_LOCK_TIMEOUT_MS = 100

/** Bounds the lock waits of the rest of the transaction (SET LOCAL lock_timeout, with a parameter: a prepared statement, pipelined like the rest). */
export const BOUND_LOCK_WAITS = `SELECT set_config('lock_timeout', $1, true)`
export const BOUND_LOCK_WAITS_PARAMS = [`${ROWS_LOCK_TIMEOUT_MS}ms`]

/** Postgres gave up waiting for a lock (lock_timeout, SQLSTATE 55P03): the transaction wrote nothing, and sending it again once the lock is gone is right. */
export const lockTimedOut = (error: unknown): boolean => sqlStateOf(error) === '55P03'

/** The longest pause between two tries of rows refused for a lock (lockTimedOut), which doubles from `retryMs` while it lasts. */
const MAX_LOCK_BACKOFF_MS = 5_000

/**
 * How long a failed send whose COMMIT was still unanswered at the deadline is waited for before its rows are counted
 * dropped: a loaded database answers such a COMMIT within seconds, and then they were written; one that lost the
 * connection may never answer.
 */
const LATE_COMMIT_WAIT_MS = 10_000

/** Rows dropped because Postgres refused them even with their text made storable (/metrics: tollgate_store_rows_dropped_total). */
export const droppedRows = { count: 0 }

/**
 * Rows nobody waits for (settlements, request-log rows), sent a few milliseconds' worth at a time in one
 * statement. A batch the database refuses goes back to the front of the queue and is sent again later
 * (`retry`; with `'uncommitted'`, only if it failed before its COMMIT was sent), or is reported and dropped.
 *
 * A batch refused for what a row holds (refusesData) is not sent again as it is, which would fail for ever
 * and hold up every row queued behind it (and every reservation batch that carries them): its rows go one
 * at a time, and a row refused alone is sent once more with its text made storable (withStorableText), and
 * if that is refused too, dropped, logged and counted. So one bad row costs its own row at most, never the
 * ledger. Rows a transaction carrying them found refused (`putBack` with the error) are written the same
 * way, on their own, and never handed to `take` again.
 *
 * A batch refused for a lock held elsewhere (lockTimedOut, or what the writer's `lockedOutBy` names: its statements
 * bound their lock waits) wrote
 * nothing, so it is sent again even by a writer that does not `retry` otherwise, on its own, half a second
 * later and then at doubling intervals until it is written; meanwhile `take` hands nothing over, so that
 * no reservation batch carries rows into the same lock. Rows a reservation batch carried into a lock (`putBack` with
 * the error) go on their own at once, and are handed over again only once a send of the writer's own lands. A writer whose rows other processes read for money
 * (`waitOutLocksMs`: the stored ids, which size another replica's holds) instead sends them again at once, each
 * try waiting that long for the lock itself: they land as the lock goes, not up to a pause later, and while the
 * lock lasts the writer is seen waiting for it by another process that asks (KeptBackIds), at the cost of one pooled
 * connection waiting meanwhile.
 *
 * With a `cap` (rows nothing's money depends on: request-log rows, refusal counts), the writer keeps the newest
 * `cap.max` rows queued while they are not written, and counts there those it drops past it, and those a failed
 * send does not send again (`retry` false): a long lock or outage under load would otherwise take the process's
 * memory, and the settlements queued with it.
 */
export class BatchWriter<T> {
  private queued: T[] = []
  /** Rows from a transaction Postgres refused for their data: written one at a time, on their own. */
  private suspect: T[] = []
  /** The sends under way, each followed by the next while rows keep coming (so it may not end while they do). */
  private sending: Promise<void> | null = null
  /** The batch being written now, alone, and its rows not yet written. */
  private current: Promise<void> = Promise.resolve()
  private inFlight: T[] = []
  private timer: ReturnType<typeof setTimeout> | null = null
  private closed = false
  /** Tries refused in a row for a lock (lockTimedOut); while above 0, the rows are this writer's alone to send. */
  private lockWaits = 0
  /**
   * A reservation batch that carried rows of this writer found a lock and gave them back (putBack): they are this
   * writer's alone to send, at once, until a send of its own lands.
   */
  private ridersRefused = false
  /** The callers waiting for rows of theirs until a deadline (`flushQueued` given one). */
  private readonly waiters = new Set<{ until: number }>()

  constructor(
    /**
     * `lockWaitMs`: how long its statements may wait for a lock (see `lockWaitMs`). `joinQueued` adds to `rows` the
     * rows queued since the batch went (for a write to call once it has its table's lock: see `joinQueued`).
     */
    private readonly write: (rows: T[], lockWaitMs: number, joinQueued: () => void) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
    private readonly options: {
      /** Whether a failed batch is sent again: always, never, or when it failed before its COMMIT (failedBeforeCommit). */
      retry: boolean | 'uncommitted'
      lingerMs?: number
      retryMs?: number
      waitOutLocksMs?: number
      /**
       * Which failures are a lock that stops the writes (their rows kept back, keptBackForLock, until a send gets it):
       * by default any lock wait the database gave up on (lockTimedOut).
       */
      lockedOutBy?: (error: unknown) => boolean
      /** Called with rows once they are written (or dropped for their data). */
      onWritten?: (rows: T[]) => void
      what: string
      cap?: QueueCap
    },
  ) {}

  private sendsAgain(error: unknown): boolean {
    const { retry } = this.options
    return retry === 'uncommitted' ? failedBeforeCommit(error) : retry
  }

  /** While `heldBack` says so, the linger's end sends nothing: another transaction will `take` the rows (and `nudge` when it is done). */
  private heldBack = () => false

  private lockedOut(error: unknown): boolean {
    return (this.options.lockedOutBy ?? lockTimedOut)(error)
  }

  holdBackWhile(heldBack: () => boolean): void {
    this.heldBack = heldBack
  }

  push(row: T): void {
    if (this.closed) {
      this.onError(new Error(`${this.options.what} queued after the store was closed; dropped`))
      return
    }
    this.queued.push(row)
    this.options.cap?.trim(this.queued)
    this.nudge()
  }

  /** Starts the linger if rows wait and nothing is under way. */
  nudge(): void {
    if (this.timer === null && this.sending === null && this.queued.length + this.suspect.length > 0)
      this.timer = setTimeout(this.lingered, this.options.lingerMs ?? 5)
  }

  private readonly lingered = () => {
    this.timer = null
    // Suspect rows, and rows kept back from a lock, are never carried by another transaction: nothing to hold back for.
    if (this.suspect.length > 0 || this.lockWaits > 0 || this.ridersRefused || !this.heldBack()) void this.send().catch(() => {})
  }

  private send(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.sending) return this.sending
    const alone = this.suspect.length > 0
    if (!alone && this.queued.length === 0) return Promise.resolve()
    // What is still unwritten of the batch: all of it, until it goes a row at a time.
    const left = { rows: alone ? this.suspect : this.queued }
    if (alone) this.suspect = []
    else this.queued = []
    this.inFlight = left.rows
    const lockWaitMs = this.lockWaitMs()
    this.current = alone ? this.writeEach(left, lockWaitMs) : this.writeBatch(left, lockWaitMs)
    this.sending = this.current.then(
      () => {
        this.sending = null
        this.inFlight = []
        this.lockWaits = 0
        this.ridersRefused = false
        this.options.cap?.written()
        // Rows that came meanwhile go at once, unless another transaction is about to carry them: then the
        // linger's end looks again (and that transaction nudges when it is done).
        if (this.suspect.length > 0 || (this.queued.length > 0 && !this.heldBack())) return this.send()
        this.nudge()
      },
      (error) => {
        this.sending = null
        this.inFlight = []
        const lockedOut = this.lockedOut(error)
        if (lockedOut) this.lockWaits++
        if (this.sendsAgain(error) || lockedOut) {
          this.onError(error)
          if (alone) this.suspect = left.rows.concat(this.suspect)
          else this.queued = left.rows.concat(this.queued)
          this.options.cap?.trim(this.queued)
          const pause = lockedOut && this.options.waitOutLocksMs !== undefined ? 0 : this.retryMs()
          if (!this.closed) this.timer = setTimeout(() => void this.send().catch(() => {}), pause)
        } else void this.giveUp(left.rows, error)
        throw error
      },
    )
    return this.sending
  }

  /**
   * Rows of a failed send that is not sent again, lest it land twice: reported and counted dropped, unless it was a
   * COMMIT the deadline passed that lands within LATE_COMMIT_WAIT_MS (landedLate), and they were written. Its waiters
   * were refused at the deadline all the same.
   */
  private async giveUp(rows: T[], error: unknown): Promise<void> {
    if (await landedLate(error, LATE_COMMIT_WAIT_MS)) return
    this.onError(error)
    this.options.cap?.drop(rows.length)
  }

  /**
   * How long a send may wait for a lock: ROWS_LOCK_TIMEOUT_MS, the riders' bound, unless a caller waits for rows of
   * its own (`flushQueued` with a deadline): then until the earliest such deadline, which the caller would reach
   * anyway, refused, if the send gave up sooner and went again later; or, rows kept back from a lock by a writer
   * that waits locks out, `waitOutLocksMs`.
   */
  private lockWaitMs(): number {
    let until = Infinity
    for (const waiter of this.waiters) until = Math.min(until, waiter.until)
    if (until !== Infinity) return Math.max(ROWS_LOCK_TIMEOUT_MS, Math.floor(until - performance.now()))
    return this.lockWaits > 0 ? (this.options.waitOutLocksMs ?? ROWS_LOCK_TIMEOUT_MS) : ROWS_LOCK_TIMEOUT_MS
  }

  /** Rows were refused for a lock at their last try, and are kept until a send gets it. */
  get keptBackForLock(): boolean {
    return this.lockWaits > 0
  }

  private retryMs(): number {
    const ms = this.options.retryMs ?? 500
    return this.lockWaits > 0 ? Math.min(ms * 2 ** (this.lockWaits - 1), MAX_LOCK_BACKOFF_MS) : ms
  }

  private async writeBatch(left: { rows: T[] }, lockWaitMs: number): Promise<void> {
    try {
      await this.write(left.rows, lockWaitMs, () => this.joinQueued(left))
      this.options.onWritten?.(left.rows)
    } catch (error) {
      if (!refusesData(error)) throw error
      this.onError(new Error(`a batch of ${left.rows.length} ${this.options.what}(s) was refused for its data (SQLSTATE ${sqlStateOf(error)}): written one at a time`, { cause: error }))
      await this.writeEach(left, lockWaitMs)
    }
  }

  /**
   * Moves the rows queued behind the batch under way into it (`left.rows`, which is also `inFlight`: a caller waiting
   * for them still finds them pending, and a failed batch puts them back with its own). A batch that waited out a lock
   * calls it once it has the lock: what queued during the wait lands in the same commit, so that no other process
   * reads the table between some of them written and the rest neither written nor waiting for the lock.
   */
  private joinQueued(left: { rows: T[] }): void {
    if (this.queued.length === 0) return
    left.rows.push(...this.queued)
    this.queued = []
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /** Each row alone, in order; `left` keeps those not yet written when the database fails for another reason. */
  private async writeEach(left: { rows: T[] }, lockWaitMs: number): Promise<void> {
    while (left.rows.length > 0) {
      const row = left.rows[0]!
      try {
        await this.write([row], lockWaitMs, () => {})
      } catch (error) {
        if (!refusesData(error)) throw error
        await this.repairOrDrop(row, error, lockWaitMs)
      }
      left.rows.shift()
      this.options.onWritten?.([row])
    }
  }

  private async repairOrDrop(row: T, error: unknown, lockWaitMs: number): Promise<void> {
    const storable = withStorableText(row)
    if (storable !== row) {
      try {
        await this.write([storable], lockWaitMs, () => {})
        this.onError(new Error(`a ${this.options.what} held text Postgres cannot store (a NUL or a lone surrogate): written with U+FFFD in its place`))
        return
      } catch (again) {
        if (!refusesData(again)) throw again
        error = again
      }
    }
    droppedRows.count++
    this.onError(new Error(`a ${this.options.what} was refused for its data (SQLSTATE ${sqlStateOf(error)}) and dropped: ${JSON.stringify(row).slice(0, 500)}`, { cause: error }))
  }

  /**
   * Hands over the rows queued and not yet being sent, for another transaction to write (a reservation
   * batch carries the settlements with it); `putBack` returns them if that transaction did not commit.
   * None while rows are kept back from a lock, or a reservation batch found one (putBack).
   */
  take(): T[] {
    if (this.lockWaits > 0 || this.ridersRefused) return []
    const rows = this.queued
    this.queued = []
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    return rows
  }

  /**
   * `error`: why the transaction that took them failed; if for its data, the rows go one at a time, on their
   * own; if for a lock, they are kept back from `take` and sent on their own at once: a reservation batch waits for
   * its riders' locks a few milliseconds only, and their own send waits the writer's bound (ROWS_LOCK_TIMEOUT_MS)
   * holding no hold up, then pauses as any send refused for a lock does.
   */
  putBack(rows: T[], error?: unknown): void {
    if (!this.requeue(rows, error)) return
    const locked = error !== undefined && this.lockedOut(error)
    if (locked) this.ridersRefused = true
    this.sendAgain(locked)
  }

  /**
   * Rows a transaction that carried them left out, for a lock held elsewhere that they need (and it would not wait
   * for): sent on their own at once, as rows it found refused for a lock (`putBack`).
   */
  keepFromLock(rows: T[]): void {
    if (!this.requeue(rows)) return
    this.ridersRefused = true
    this.sendAgain(true)
  }

  /** Queues again rows a transaction took (false: none, or the store closed and they were dropped). */
  private requeue(rows: T[], error?: unknown): boolean {
    if (rows.length === 0) return false
    if (this.closed) {
      this.onError(new Error(`${rows.length} ${this.options.what}(s) not written before the store was closed; dropped`))
      return false
    }
    if (error !== undefined && refusesData(error)) this.suspect = this.suspect.concat(rows)
    else {
      this.queued = rows.concat(this.queued)
      this.options.cap?.trim(this.queued)
    }
    return true
  }

  private sendAgain(locked: boolean): void {
    if (this.sending !== null || (this.timer !== null && !locked)) return
    // A linger under way is held back while a reservation is in flight: they go now, or after the pause of a writer
    // already kept back from a lock.
    if (this.timer !== null) clearTimeout(this.timer)
    const pause = locked && this.lockWaits === 0 ? 0 : this.retryMs()
    this.timer = setTimeout(() => void this.send().catch(() => {}), pause)
  }

  /** The rows queued, being sent, or kept to be sent again: not written yet. */
  unwritten(): Set<T> {
    return new Set(this.queued.concat(this.suspect, this.inFlight))
  }

  /** Resolves once everything queued so far is written; rejects when the database refuses it. */
  async flush(): Promise<void> {
    while (this.sending || this.queued.length > 0 || this.suspect.length > 0) await (this.sending ?? this.send())
  }

  /**
   * Resolves once the rows queued so far are written (or dropped, or taken by another transaction), not those
   * queued after it was called: a writer kept busy by new rows holds its caller for a batch or two, never for as
   * long as they keep coming, as `flush` would. Rejects when the database refuses them.
   *
   * `until` (a performance.now() reading): a lock held on their table is waited out until then rather than for the riders' bound, the
   * sends meanwhile waiting that long for it (`lockWaitMs`) and going again, at once, if another send's bound ran
   * out. Any other failure (a connection reset, a COMMIT whose answer was lost) is tried again too, a riders' bound
   * later, for a writer that keeps what it failed to send (`retry`): the caller is answered as soon as a try lands
   * (one that finds its rows already committed lands too). It rejects once that time is near (less than a riders'
   * bound left) with the rows still unwritten; what it gave up on is sent later.
   */
  async flushQueued(until?: number): Promise<void> {
    const mine = [...this.unwritten()]
    const waiter = until === undefined ? null : { until }
    if (waiter) this.waiters.add(waiter)
    try {
      for (;;) {
        const pending = this.unwritten()
        if (!mine.some((row) => pending.has(row))) return
        if (this.sending === null) void this.send().catch(() => {})
        try {
          await this.current
        } catch (error) {
          const lockedOut = this.lockedOut(error)
          if (until === undefined || !(lockedOut || this.sendsAgain(error)) || performance.now() + ROWS_LOCK_TIMEOUT_MS > until) throw error
          if (!lockedOut) await Bun.sleep(Math.min(ROWS_LOCK_TIMEOUT_MS, until - ROWS_LOCK_TIMEOUT_MS - performance.now()))
        }
      }
    } finally {
      if (waiter) this.waiters.delete(waiter)
    }
  }

  /**
   * Sends what is queued and refuses anything later. Rows a failed send keeps (`retry`, or refused for a lock)
   * go again after the writer's pause, as while running, until written or until `stop` aborts (the stop's
   * deadline): one connection dropped as the stop begins must not leave a settled hold for the sweeper to
   * charge in full. `keepAside`, once a first try has failed, is given the rows still unwritten, to keep them
   * somewhere that outlives the process, and answers those it kept. What is still unwritten at the end, and was not
   * kept aside, is reported as dropped. Returns the rows still unwritten.
   */
  async close(stop: AbortSignal, keepAside?: (rows: T[]) => Promise<Set<T>>): Promise<T[]> {
    const stopped = new Promise<false>((resolve) => stop.addEventListener('abort', () => resolve(false), { once: true }))
    let kept = new Set<T>()
    while (!stop.aborted) {
      const written = await Promise.race([this.flush().then(() => true, () => false), stopped])
      if (written || this.queued.length + this.suspect.length === 0) break
      if (keepAside && kept.size === 0) kept = await Promise.race([keepAside([...this.unwritten()]), stopped.then(() => kept)])
      // This loop sends them again, not the writer's timer, so that its pause ends with the deadline.
      if (this.timer !== null) clearTimeout(this.timer)
      this.timer = null
      await Promise.race([Bun.sleep(this.retryMs()), stopped])
    }
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    const left = [...this.unwritten()]
    const dropped = left.filter((row) => !kept.has(row)).length
    if (dropped > 0) this.onError(new Error(`${dropped} ${this.options.what}(s) not written (or not answered) by the stop's deadline; dropped`))
    return left
  }
}
