import { closeSync, fstatSync, openSync, statSync } from 'node:fs'

/**
 * The file a connection opened: its device and inode (a rename or a new copy into place gives the path another),
 * and a descriptor held on it since, which tells whether the file itself was unlinked.
 */
export interface FileIdentity {
  dev: bigint
  ino: bigint
  /** Read-only, open until releaseFile (after every connection of the process closed: see releaseFile). */
  fd: number
}

/** Holds the file `path` names now; null for a database in memory. */
export function holdFile(path: string): FileIdentity | null {
  if (path === '' || path === ':memory:') return null
  const fd = openSync(path, 'r')
  const stat = fstatSync(fd, { bigint: true })
  return { dev: stat.dev, ino: stat.ino, fd }
}

/**
 * Closes the descriptor. Only once SQLite's connections to the file are closed: closing any descriptor of a file
 * drops every POSIX lock the process holds on it, SQLite's too.
 */
export function releaseFile(opened: FileIdentity | null): void {
  if (opened !== null) closeSync(opened.fd)
}

/**
 * Whether the file a connection has open was renamed over or removed, as a restore while serving does: the file
 * itself has no name left, or `path` names another (device and inode). In WAL mode SQLite goes on writing into
 * an unlinked file, and all of it is lost at the stop. A path that names nothing while the file keeps its name
 * (its folder renamed away, a volume that drops out and comes back) is not reachable for now, not replaced: the
 * connection goes on writing into the file that will be there again. Two stats. A copy over the file in place
 * (`cp backup.db tollgate.db`) keeps its inode and is not seen here.
 */
export function replacedSince(path: string, opened: FileIdentity | null): boolean {
  if (opened === null) return false
  try {
    if (fstatSync(opened.fd).nlink === 0) return true
    const now = statSync(path, { bigint: true, throwIfNoEntry: false })
    return now !== undefined && (now.dev !== opened.dev || now.ino !== opened.ino)
  } catch {
    // Not to be told (EACCES, EIO on the folder): the next check asks again.
    return false
  }
}
