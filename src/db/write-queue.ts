import type { Database } from 'bun:sqlite'

/**
 * Groups writes into one transaction: one commit for many rows is what lets the ledger go past the
 * per-transaction limit (a commit costs tens of microseconds of system calls, a row a few).
 *
 * A budget reservation is waited for (`submit`): its caller goes on only once the commit holding it is
 * done, so it is committed at the end of the current turn of the event loop, with everything else queued
 * by then. Writes nobody waits for (settlements, request-log rows) linger up to `lingerMs` for a
 * reservation to ride along with, so that a steady stream of requests costs one commit per turn rather
 * than two; with nothing to ride along with, they commit on their own when the linger ends.
 *
 * One failing write cannot undo the others: a single statement is atomic by itself, and a write of
 * several statements runs in its own savepoint.
 *
 * A process killed before a flush loses what was queued: a lost settlement leaves its hold in place,
 * which the sweeper later settles at its full amount; a lost log row is lost; a lost reservation was
 * never acted on, because its caller was still waiting.
 */
export class WriteQueue {
  private pending: Array<() => void> = []
  /** Callers of `submit` in this batch, told the outcome once the batch is committed (or has failed). */
  private waiting: Array<Waiter<any>> = []
  private readonly atomically: <T>(write: () => T) => T
  /** A flush at the end of this turn is scheduled (someone waits). */
  private soon = false
  /** A flush at the end of the linger is scheduled (nobody waits). */
  private lingering: ReturnType<typeof setTimeout> | null = null
  private closed = false
  private readonly runAll: (writes: Array<() => void>) => void

  constructor(
    private readonly db: Database,
    private readonly onError: (error: unknown) => void = console.error,
    private readonly lingerMs = 5,
  ) {
    // Called inside the outer transaction, bun:sqlite makes this a savepoint.
    const savepoint = db.transaction((write: () => unknown) => write())
    this.atomically = <T>(write: () => T) => savepoint(write) as T
    this.runAll = db.transaction((writes: Array<() => void>) => {
      for (const write of writes) {
        try {
          write()
        } catch (error) {
          this.onError(error)
        }
      }
    }).immediate
  }

  /**
   * Queues a write of several statements and returns what it returns, once it is committed. A write that
   * throws rolls back alone and rejects with its error; a commit that fails rejects every waiter in it.
   */
  submit<T>(write: () => T): Promise<T> {
    const waiter = new Waiter<T>()
    if (!this.enqueue(() => waiter.run(() => this.atomically(write)), true)) return Promise.reject(new Error('the database is closed'))
    this.waiting.push(waiter)
    return waiter.promise
  }

  /** Queues a write of several statements that must land together or not at all. */
  deferAtomic(write: () => void): void {
    this.defer(() => this.atomically(write))
  }

  /** Queues a write of one statement. */
  defer(write: () => void): void {
    if (!this.enqueue(write, false)) this.onError(new Error('write queued after the database was closed; dropped'))
  }

  private enqueue(write: () => void, waitedFor: boolean): boolean {
    if (this.closed) return false
    this.pending.push(write)
    if (waitedFor && !this.soon) {
      this.soon = true
      setImmediate(this.scheduledFlush)
    } else if (!waitedFor && !this.soon && this.lingering === null) {
      this.lingering = setTimeout(this.scheduledFlush, this.lingerMs)
    }
    return true
  }

  private readonly scheduledFlush = () => {
    try {
      this.flush()
    } catch (error) {
      this.onError(error)
    }
  }

  /** Runs everything queued now. Readers of what the queue writes call this first. */
  flush(): void {
    this.soon = false
    if (this.lingering !== null) {
      clearTimeout(this.lingering)
      this.lingering = null
    }
    if (this.pending.length === 0) return
    const writes = this.pending
    const waiting = this.waiting
    this.pending = []
    this.waiting = []
    try {
      this.runAll(writes)
    } catch (error) {
      for (const w of waiting) w.fail(error)
      throw error
    }
    for (const w of waiting) w.tell()
  }

  /** Writes what is queued and refuses anything later: call before closing the database. */
  close(): void {
    this.flush()
    this.closed = true
  }

  get size(): number {
    return this.pending.length
  }
}

/** One `submit` caller: the write's result or error is kept until the commit decides which to tell. */
class Waiter<T> {
  readonly promise: Promise<T>
  private resolve!: (value: T) => void
  private reject!: (error: unknown) => void
  private outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
  }

  run(write: () => T): void {
    try {
      this.outcome = { ok: true, value: write() }
    } catch (error) {
      this.outcome = { ok: false, error }
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
