import type { SQL } from 'bun'
import { lateWrite } from '../late-write'
import { withDeadline } from './errors'

/**
 * `sql` with the database deadline on everything sent through it: a query (tagged, `unsafe`, and so
 * drizzle's) rejects with 503 database_unavailable once `ms` have passed without its answer, and a
 * transaction (`begin`) once `ms` have passed without its end. Bun.SQL has no deadline of its own, and
 * a database that keeps the connection and answers nothing would otherwise hold each caller for as
 * long as that lasts: a request, an admin read, a background job, a stop.
 *
 * A transaction whose caller was already refused is rolled back when its work ends, not committed
 * behind the caller's back; one that only gets a connection after that runs nothing. Only a COMMIT already
 * sent may still land: the refusal carries when the transaction really ended (lateWrite), for the caches to
 * forget the change again then. A connection taken with `reserve` is handed over as it is: who reserves one
 * sets its own deadline (the ledger's batches).
 */
export function withQueryDeadlines(sql: SQL, ms: number): SQL {
  return new Proxy(sql, {
    apply: (target, self, args) => bounded(Reflect.apply(target, self, args), ms),
    get(target, prop) {
      if (prop === 'unsafe') return (...args: Parameters<SQL['unsafe']>) => bounded(target.unsafe(...args), ms)
      if (prop === 'begin' || prop === 'transaction') return (...args: unknown[]) => boundedTransaction(target, args, ms)
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/**
 * The query, whose answer is awaited within the deadline. A query is lazy (sent when first awaited), so
 * the deadline starts then; `values()`, `raw()` and the like return the query itself, and keep it.
 * Anything else (`sql(rows)`'s helper, say) is returned as it is.
 */
function bounded<T>(query: T, ms: number): T {
  if (!(query instanceof Promise)) return query
  let answer: Promise<unknown> | undefined
  return new Proxy(query, {
    get(q, prop) {
      if (prop === 'then' || prop === 'catch' || prop === 'finally') {
        answer ??= withDeadline(q, ms)
        return answer[prop].bind(answer)
      }
      const value = Reflect.get(q, prop, q)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = value.apply(q, args)
        return result === q ? bounded(q, ms) : result
      }
    },
  })
}

function boundedTransaction(sql: SQL, args: unknown[], ms: number): Promise<unknown> {
  const body = args.pop() as (tx: unknown) => unknown
  let late = false
  const run = (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args, async (tx: unknown) => {
    // Begun only once a connection freed, after its caller was refused: none of its work is done for nobody.
    if (late) throw new Error('transaction not run: it got a connection after its deadline, and its caller was refused')
    const result = await body(tx)
    if (late) throw new Error('transaction rolled back: the database answered after its deadline, and its caller was refused')
    return result
  })
  return withDeadline(run, ms, () => (late = true)).catch((error) => {
    throw late ? lateWrite(error, run) : error
  })
}
