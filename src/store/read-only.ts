import { isReadOnly } from '../db/read-only'
import { sqlStateOf } from './postgres/batch'

/**
 * The database answers but takes no writes (a Postgres primary turned standby by a failover, or
 * `default_transaction_read_only` set by an operator; a SQLite file on a filesystem remounted read-only): every
 * hold would be refused, so it is not healthy.
 */
export class DatabaseReadOnly extends Error {
  override name = 'DatabaseReadOnly'
  constructor() {
    super('the database takes no writes (read-only)')
  }
}

/** A write refused because the database takes none: SQLite's SQLITE_READONLY (and its extended codes), Postgres's 25006. */
export const refusedAsReadOnly = (error: unknown): boolean => isReadOnly(error) || sqlStateOf(error) === '25006'
