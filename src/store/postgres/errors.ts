import { databaseUnavailable, GatewayError } from '../../http/errors'
import { sqlStateOf } from './batch'

/**
 * A deadlock or serialization failure: Postgres undid the transaction, and running it again is right. Read
 * inside the error too (sqlStateOf): a transaction through drizzle (updateKey) throws the driver's error wrapped.
 */
const CONFLICT = new Set(['40P01', '40001'])

export const isConflict = (error: unknown): boolean => CONFLICT.has(sqlStateOf(error))

export async function retryingConflicts<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run()
    } catch (error) {
      if (i >= attempts || !isConflict(error)) throw error
      await Bun.sleep(Math.random() * 5 * i)
    }
  }
}

/**
 * Postgres cannot take the transaction now, for its own state rather than for anything in it: it could not be
 * reached (refused, reset, timed out), is shutting down or starting (SQLSTATE class 08, and 57P01–57P03: a
 * pooled connection the server closed when it stopped; 57P05: one it closed idle, `idle_session_timeout`), ended
 * the statement at the deadline itself (57014: the records pool's statement_timeout, which may answer just before
 * the client's deadline does), has no connection slot, memory or other resource left for it, or hit a configured
 * limit (UNAVAILABLE_STATES), takes no writes (25006: a primary turned standby by a failover, or
 * `default_transaction_read_only` set by an operator), its database was dropped (57P04), or it refuses the
 * gateway's login (class 28, `isLoginRefused`); or a user's rows stayed held by another session past the ledger's
 * wait for them (UserRowsBusy: a replica frozen mid-transaction, which Postgres ends only a while later).
 * The transaction did not commit. Bun names a server's error ERR_POSTGRES_SERVER_ERROR whatever it is: its
 * SQLSTATE (sqlStateOf) says which.
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof GatewayError) return false
  if (error instanceof UserRowsBusy) return true
  const code = String((error as { code?: unknown })?.code ?? '')
  const state = sqlStateOf(error)
  return (
    /^ERR_POSTGRES_(CONNECTION|.*TIMEOUT|.*CLOSED|TLS)/.test(code) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code) ||
    /^(08|57014|57P0[1235])/.test(state) ||
    UNAVAILABLE_STATES.has(state) ||
    isLoginRefused(error)
  )
}

/**
 * A user's or its keys' rows stayed locked by another session past a transaction's wait for them (lock_timeout,
 * 55P03, or no time left of the wait to begin with): nothing was written. Not a lockTimedOut error itself, which is a
 * table's (`usage`, for SETTLE: see the ledger's sendRiders), for which the settlements' writer keeps its rows from
 * the reservation batches until it gets the lock (BatchWriter): a user's row held elsewhere keeps no other user's
 * settlement from riding in them (SETTLE leaves out those whose rows are held).
 */
export class UserRowsBusy extends Error {
  constructor(readonly lockError: unknown) {
    super("a user's or its keys' rows stayed locked by another session past the wait for them")
  }
}

/**
 * insufficient_resources, too_many_connections (max_connections, or the role's or database's CONNECTION LIMIT),
 * out_of_memory, configuration_limit_exceeded, read_only_sql_transaction, database_dropped.
 */
const UNAVAILABLE_STATES = new Set(['53000', '53300', '53200', '53400', '25006', '57P04'])

/**
 * Postgres refuses the gateway's login (class 28: invalid_password, its password changed under a running gateway;
 * invalid_authorization_specification, its role or pg_hba.conf entry gone): every new connection fails until the
 * operator sets the login again.
 */
export const isLoginRefused = (error: unknown): boolean => /^28[0-9A-Z]{3}$/.test(sqlStateOf(error))

/** Postgres has no room left on its disk for the rows (53100 disk_full: "could not extend file"), as SQLite's SQLITE_FULL. */
export const isDiskFull = (error: unknown): boolean => sqlStateOf(error) === '53100'

/** How long any query (a hold, a settlement, /health's check, an admin read) waits for Postgres by default (`database_timeout_ms`). */
export const DEFAULT_DATABASE_TIMEOUT_MS = 3_000

/**
 * `work`, or a 503 database_unavailable once `ms` have passed without its answer. A database that keeps
 * the connection open and answers nothing (a network black hole, a server stuck on I/O) raises no error
 * of its own, for as long as that lasts. The work itself goes on: what it may still do is the caller's to handle
 * (`onLate` is told when the deadline passes).
 */
export function withDeadline<T>(work: PromiseLike<T>, ms: number, onLate?: () => void): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => {
        onLate?.()
        reject(databaseUnavailable())
      }, ms)),
  )
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}
