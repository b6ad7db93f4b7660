/** Rows one maintenance step deletes: a few milliseconds of the one thread that also answers requests. */
export const MAINTENANCE_BATCH = 1000

/** Lets the requests waiting behind a maintenance step run before the next one. */
export const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Deletes what `deleteBatch` finds, `MAINTENANCE_BATCH` rows at a time, each batch its own short
 * transaction, yielding to the event loop between batches: a prune of millions of rows never holds the
 * request thread (nor the write lock) for more than one batch. `deleteBatch` takes its own parameters and
 * deletes at most MAINTENANCE_BATCH rows (on Postgres, a statement of its own: no row locks held long, none near
 * the query deadline). Stops early when `stopped()` says so. Returns how many went.
 */
export async function deleteInBatches(deleteBatch: () => number | Promise<number>, stopped: () => boolean): Promise<number> {
  let total = 0
  for (;;) {
    if (stopped()) return total
    const n = await deleteBatch()
    total += n
    if (n < MAINTENANCE_BATCH) return total
    await yieldToRequests()
  }
}
