import type { Database } from 'bun:sqlite'
import { BUSY_TIMEOUT_MS } from './open'

/** Rows one maintenance step deletes: a few milliseconds of the one thread that also answers requests. */
export const MAINTENANCE_BATCH = 1000

/** Lets the requests waiting behind a maintenance step run before the next one. */
export const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Deletes what `deleteBatch` finds, `MAINTENANCE_BATCH` rows at a time, each batch its own short
 * transaction, yielding to the event loop between batches: a prune of millions of rows never holds the
 * request thread (nor the write lock) for more than one batch. `deleteBatch` takes its own parameters and
 * deletes at most MAINTENANCE_BATCH rows. Stops early when `stopped()` says so. Returns how many went.
 */
export async function deleteInBatches(deleteBatch: () => number, stopped: () => boolean): Promise<number> {
  let total = 0
  for (;;) {
    if (stopped()) return total
    const n = deleteBatch()
    total += n
    if (n < MAINTENANCE_BATCH) return total
    await yieldToRequests()
  }
}

/**
 * Gives the WAL file's space back after a large delete (SQLite keeps the file at its largest otherwise).
 * It never waits: with a reader still on the WAL it does nothing and says so, and the next prune tries again.
 */
export function truncateWal(db: Database): boolean {
  if (db.filename === ':memory:' || db.filename === '') return true
  db.exec('PRAGMA busy_timeout = 0')
  try {
    const result = db.query<{ busy: number }, []>('PRAGMA wal_checkpoint(TRUNCATE)').get()
    return result?.busy === 0
  } catch {
    return false
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  }
}

/** A prune this large is followed by a WAL truncation. */
export const LARGE_PRUNE_ROWS = 10 * MAINTENANCE_BATCH
