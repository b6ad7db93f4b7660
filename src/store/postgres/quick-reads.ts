import type { SQL } from 'bun'
import { sql, type SQL as Statement } from 'drizzle-orm'
import { drizzle, type BunSQLDatabase } from 'drizzle-orm/bun-sql'
import { clientClosedRequest } from '../../http/errors'
import { sqlStateOf } from './batch'
import { watchingStatements, type Statement as Sent } from './watched-statements'

/**
 * How long one statement of a quick read may run. A quick read is an index read of a few ms, on the connections every
 * hold and settlement takes: one that runs longer was no quick read, and must not keep one of them.
 */
export const QUICK_STATEMENT_MS = 200

/** Bounds the statements of the rest of the transaction (SET LOCAL statement_timeout, as a parameter: see BOUND_LOCK_WAITS). */
const BOUND_STATEMENTS = sql`SELECT set_config('statement_timeout', ${`${QUICK_STATEMENT_MS}ms`}, true)`

/** Postgres ended the statement (SQLSTATE 57014): past its statement_timeout, when its caller did not cancel it. */
const statementEnded = (error: unknown) => sqlStateOf(error) === '57014'

/**
 * The records quick reads (src/records/records-reader.ts QUICK_READS) on the store's main pool. A read whose caller
 * hangs up is cancelled (its running statement stopped, its next refused), rather than run on for nobody on a
 * connection a hold may be waiting for; one that Postgres ends past QUICK_STATEMENT_MS is answered by `tooLong` (the
 * same read as a scan, in the scans' line on the records pool).
 */
export function quickReads(pool: SQL) {
  return <T>(
    read: (db: BunSQLDatabase<Record<string, unknown>>, first: Statement) => Promise<T>,
    signal: AbortSignal | undefined,
    tooLong: () => Promise<T>,
  ): Promise<T> => {
    if (signal?.aborted) return Promise.reject(clientClosedRequest())
    const sent: Sent[] = []
    let hungUp = false
    const db = drizzle({ client: watchingStatements(pool, (statement) => (hungUp ? statement.cancel() : sent.push(statement))) })
    return new Promise<T>((resolve, reject) => {
      const hangUp = () => {
        hungUp = true
        for (const statement of sent) statement.cancel()
        reject(clientClosedRequest())
      }
      signal?.addEventListener('abort', hangUp, { once: true })
      read(db, BOUND_STATEMENTS)
        .then(resolve, (error) => (!hungUp && statementEnded(error) ? resolve(tooLong()) : reject(error)))
        .finally(() => signal?.removeEventListener('abort', hangUp))
    })
  }
}

export type QuickReads = ReturnType<typeof quickReads>
