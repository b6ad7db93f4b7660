import { GatewayError } from '../http/errors'
import { lockTimedOut } from '../store/postgres/batch'

/**
 * How a background job's failure is logged (a retention prune, the sweeper). The database out of reach or past its
 * deadline (503 database_unavailable: restarting, or slow under load), or a lock it needed held elsewhere past its
 * wait (Postgres's lock_timeout: an index build, a replica's long transaction), is a moment the job meets again on its
 * next run: one line, a warning. Anything else is logged as an error with its stack: a defect to look into.
 */
export function logBackgroundFailure(what: string, error: unknown, next?: string): void {
  const then = next ? `; ${next}` : ''
  if (error instanceof GatewayError && error.code === 'database_unavailable')
    console.warn(`[tollgate] ${what} failed: the database did not answer in time${then}`)
  else if (lockTimedOut(error)) console.warn(`[tollgate] ${what} failed: a lock it needed was held elsewhere past its wait${then}`)
  else console.error(`[tollgate] ${what} failed${then}`, error)
}

/**
 * The Postgres store's own background steps (its writers' sends, a sweep's landing of kept settlements), by the same
 * rule: a step past its deadline under load printed the 503 meant for a client, whole, as an error ("nothing was
 * charged and the provider was not called"). What each step does next (sent again, dropped and counted) it says itself.
 */
export const logStoreFailure = (error: unknown): void => logBackgroundFailure('a background database step', error)
