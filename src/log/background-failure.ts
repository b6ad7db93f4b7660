import { GatewayError } from '../http/errors'

/**
 * How a background job's failure is logged (a retention prune, the sweeper). The database out of reach or past its
 * deadline (503 database_unavailable: restarting, or slow under load) is a moment the job meets again on its next
 * run: one line, a warning. Anything else is logged as an error with its stack: a defect to look into.
 */
export function logBackgroundFailure(what: string, error: unknown, next: string): void {
  if (error instanceof GatewayError && error.code === 'database_unavailable')
    console.warn(`[tollgate] ${what} failed: the database did not answer in time; ${next}`)
  else console.error(`[tollgate] ${what} failed; ${next}`, error)
}
