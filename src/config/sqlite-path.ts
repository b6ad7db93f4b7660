import { withoutPassword } from './client-urls'

/** A libpq conninfo keyword starting the value or after a space, before its `=`. */
const CONNINFO_KEYWORD = /(^|\s)(host|hostaddr|dbname|user|password|sslmode|port|service)\s*=/i

/**
 * Why `path`, given as the SQLite file, cannot be one: it is a URL. Taken as a relative path, a Postgres URL meant
 * for TOLLGATE_DATABASE_URL made the folders `postgres:/<user>:<password>@<host>…` (the password on disk) and a
 * ledger of this process alone where replicas were meant to share one (SPEC §11). Any `://` anywhere is refused,
 * not only a scheme at the start: a JDBC URL (`jdbc:postgresql://…`, what a Java stack's secret store hands out)
 * has its own prefix first, and no SQLite path needs one. So is a value starting `postgres:`/`postgresql:` (a URL
 * without its slashes) or `jdbc:`. `file:name.db` is left alone: bun:sqlite opens no URI filenames, so that is
 * the file's name. A libpq keyword/value connection string (`host=db port=5432 user=… password=… dbname=…`, the
 * other form psql, secret stores and cloud consoles hand out) is refused too: it has no `://`, and was served from
 * a SQLite file named after it, password included. The reason never repeats the value.
 */
export function urlGivenAsPath(path: string): string | null {
  return path.includes('://') || /^\s*(jdbc:|postgres(ql)?:)/i.test(path) || CONNINFO_KEYWORD.test(path)
    ? 'is a URL or a connection string, not the path of the SQLite file; a Postgres database is set with TOLLGATE_DATABASE_URL'
    : null
}

/**
 * `text` with the password of any user-info in `path` masked (`user:***@`): a path that is a URL after all, quoted
 * in an error about the file. Each part of the path between slashes is read as a URL's authority would be.
 */
export function withoutPathPasswords(text: string, path: string): string {
  return path
    .split('/')
    .filter((part) => part.includes('@'))
    .reduce((masked, part) => withoutPassword(masked, `path://${part}`), text)
}
