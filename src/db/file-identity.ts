import { statSync } from 'node:fs'

/** Which file a path names: its device and inode (a rename or a new copy into place gives the path another). */
export interface FileIdentity {
  dev: bigint
  ino: bigint
}

/** The identity of the file `path` names now; null for a database in memory, or a path that names nothing. */
export function identityOf(path: string): FileIdentity | null {
  if (path === '' || path === ':memory:') return null
  const stat = statSync(path, { bigint: true, throwIfNoEntry: false })
  return stat ? { dev: stat.dev, ino: stat.ino } : null
}

/**
 * Whether `path` names another file than `opened` (or none): the file a connection has open was renamed over or
 * removed, as a restore while serving does. In WAL mode SQLite goes on writing into the unlinked file, and all of
 * it is lost at the stop. One stat. A copy over the file in place (`cp backup.db tollgate.db`) keeps its inode and
 * is not seen here.
 */
export function replacedSince(path: string, opened: FileIdentity | null): boolean {
  if (opened === null) return false
  let now: FileIdentity | null
  try {
    now = identityOf(path)
  } catch {
    // Not to be told (EACCES, EIO on the folder): the next check asks again.
    return false
  }
  return now === null || now.dev !== opened.dev || now.ino !== opened.ino
}
