/**
 * A write refused at the store's deadline may go on in the database: its transaction still running (it will be
 * rolled back) or its COMMIT already sent (it may still land, seconds later: synchronous replication, a slow
 * fsync). Such a refusal carries `settled`, which resolves once the database has ended the write either way.
 */
interface LateWrite {
  settled: Promise<void>
}

/** `refusal`, marked as given while `write` goes on. */
export function lateWrite<E extends object>(refusal: E, write: PromiseLike<unknown>): E & LateWrite {
  return Object.assign(refusal, { settled: Promise.resolve(write).then(noop, noop) })
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
