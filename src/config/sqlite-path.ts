import { withoutPassword } from './client-urls'

/**
 * Why `path`, given as the SQLite file, cannot be one: it is a URL (`postgres://…`, `redis://…`, `file://…`), or
 * a Postgres URL without its slashes. Taken as a relative path, a Postgres URL meant for TOLLGATE_DATABASE_URL
 * made the folders `postgres:/<user>:<password>@<host>…` (the password on disk) and a ledger of this process alone
 * where replicas were meant to share one (SPEC §11). The reason never repeats the value. A scheme of one letter
 * is a Windows drive (`C://data`), not a URL.
 */
export function urlGivenAsPath(path: string): string | null {
  return /^\s*([a-z][a-z0-9+.-]+:\/\/|postgres(ql)?:)/i.test(path)
    ? 'is a URL, not the path of the SQLite file; a Postgres database is set with TOLLGATE_DATABASE_URL'
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
