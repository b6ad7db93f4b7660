import { isReadOnly } from '../db/read-only'
import { sqlStateOf } from './postgres/batch'

/**
 * Why the database takes no writes, as `/health` says it (`database: …`): read-only (a Postgres standby, a file on
 * a filesystem remounted read-only), full (its disk has no room), io_error (the disk failed a write), replaced
 * (the SQLite file was replaced under the running gateway: see src/db/file-identity.ts).
 */
type UnwritableReason = 'read_only' | 'full' | 'io_error' | 'replaced'

/**
 * The database answers but takes no writes: every hold would be refused, so it is not healthy (Store.ping).
 */
export class DatabaseTakesNoWrites extends Error {
  override name = 'DatabaseTakesNoWrites'
  constructor(
    readonly reason: UnwritableReason,
    message = `the database takes no writes (${reason.replace('_', ' ')})`,
  ) {
    super(message)
  }
}

/**
 * The database answers but takes no writes (a Postgres primary turned standby by a failover, or
 * `default_transaction_read_only` set by an operator; a SQLite file on a filesystem remounted read-only): every
 * hold would be refused, so it is not healthy.
 */
export class DatabaseReadOnly extends DatabaseTakesNoWrites {
  override name = 'DatabaseReadOnly'
  constructor() {
    super('read_only', 'the database takes no writes (read-only)')
  }
}

/** A write refused because the database takes none: SQLite's SQLITE_READONLY (and its extended codes), Postgres's 25006. */
export const refusedAsReadOnly = (error: unknown): boolean => isReadOnly(error) || sqlStateOf(error) === '25006'
