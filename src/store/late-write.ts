/**
 * A write refused at the store's deadline may go on in the database: its transaction still running (it will be
 * rolled back) or its COMMIT already sent (it may still land, seconds later: synchronous replication, a slow
 * fsync). Such a refusal carries `settled`, which resolves once the database has ended the write either way, and
 * `landed`, whether it ended committed.
 */
interface LateWrite {
  settled: Promise<void>
  landed: Promise<boolean>
}

/** `refusal`, marked as given while `write` goes on. */
export function lateWrite<E extends object>(refusal: E, write: PromiseLike<unknown>): E & LateWrite {
  const landed = Promise.resolve(write).then(
    () => true,
    () => false,
  )
  return Object.assign(refusal, { settled: landed.then(noop), landed })
}

/**
 * Whether the write `error` refused at its deadline landed after all, once the database ends it, if within
 * `waitMs`: false if it was rolled back or failed, or is still going on then, or the refusal was not a deadline's.
 */
export function landedLate(error: unknown, waitMs: number): Promise<boolean> {
  const landed = (error as Partial<LateWrite> | null | undefined)?.landed
  if (!(landed instanceof Promise)) return Promise.resolve(false)
  let timer: Timer | undefined
  const stillGoing = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, waitMs, false)))
  return Promise.race([landed, stillGoing]).finally(() => clearTimeout(timer))
}

/** When the write `error` refused really ended, if it had not ended then. */
function lateWriteEnd(error: unknown): Promise<void> | undefined {
  const settled = (error as Partial<LateWrite> | null | undefined)?.settled
  return settled instanceof Promise ? settled : undefined
}

/**
 * Makes a change, then `forget`s it (what this process cached of it dropped, the other replicas told) whether it
 * was answered or not: one refused as its COMMIT was on its way may still land. Such a change is forgotten once
 * more when the database ends it: a read made before it landed saw the row as it was, and may have cached it.
 */
export async function forgettingChange<T>(change: () => Promise<T>, forget: () => void): Promise<T> {
  try {
    return await change()
  } catch (error) {
    void lateWriteEnd(error)?.then(forget)
    throw error
  } finally {
    forget()
  }
}

const noop = () => {}
