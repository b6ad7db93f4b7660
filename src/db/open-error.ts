import { withoutPathPasswords } from '../config/sqlite-path'

/**
 * The SQLite file could not be opened or migrated at start (a path that is a directory or under a regular file,
 * a file that is not a database, one this user may not write): its path and the reason, for the start to refuse
 * with, naming TOLLGATE_DB, as an unreachable Postgres is refused (DatabaseOpenError). A password in the path (a URL
 * that got past the configuration's check) is masked, in the path and in the reason that quotes it.
 */
export class DatabaseFileError extends Error {
  override name = 'DatabaseFileError'
  constructor(path: string, cause: unknown) {
    const e = cause as { message?: unknown; code?: unknown } | null
    const reason = typeof e?.message === 'string' ? e.message : String(cause)
    const message = `${path}: ${reason}${typeof e?.code === 'string' && !reason.includes(e.code) ? ` (${e.code})` : ''}`
    super(withoutPathPasswords(message, path), { cause })
  }
}
