import type { Database } from 'bun:sqlite'

/**
 * Groups writes that nobody waits for (settlements, request-log rows) into one transaction per turn of
 * the event loop: one commit for many rows is what lets the ledger go past the per-transaction limit.
 * One failing write cannot undo the others: a single statement is atomic by itself, and a write of
 * several statements (`deferAtomic`) runs in its own savepoint.
 *
 * A process killed before a flush loses what was queued: a lost settlement leaves its hold in place,
 * which the sweeper later settles at its full amount; a lost log row is lost.
 */
export class WriteQueue {
  private pending: Array<() => void> = []
  private readonly atomically: (write: () => void) => void
  private scheduled = false
  private closed = false
  private readonly runAll: (writes: Array<() => void>) => void

  constructor(private readonly db: Database, private readonly onError: (error: unknown) => void = console.error) {
    // Called inside the outer transaction, bun:sqlite makes this a savepoint.
    const savepoint = db.transaction((write: () => void) => write())
    this.atomically = (write) => savepoint(write)
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

  /** Queues a write of several statements that must land together or not at all. */
  deferAtomic(write: () => void): void {
    this.defer(() => this.atomically(write))
  }

  /** Queues a write of one statement. */
  defer(write: () => void): void {
    if (this.closed) {
      this.onError(new Error('write queued after the database was closed; dropped'))
      return
    }
    this.pending.push(write)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(() => {
        try {
          this.flush()
        } catch (error) {
          this.onError(error)
        }
      })
    }
  }

  /** Runs everything queued now. Readers of what the queue writes call this first. */
  flush(): void {
    this.scheduled = false
    if (this.pending.length === 0) return
    const writes = this.pending
    this.pending = []
    this.runAll(writes)
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
