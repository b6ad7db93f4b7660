import { accessSync, constants } from 'node:fs'

const readOnlyCode = (error: unknown): boolean => String((error as { code?: unknown } | null)?.code ?? '').startsWith('SQLITE_READONLY')

/**
 * SQLite refused a write: the database takes none (SQLITE_READONLY and its extended codes: _DBMOVED, _DIRECTORY,
 * _CANTINIT, _RECOVERY, _CANTLOCK, _ROLLBACK), as bun:sqlite or drizzle (its `cause`) throws it.
 */
export const isReadOnly = (error: unknown): boolean => readOnlyCode(error) || readOnlyCode((error as { cause?: unknown } | null)?.cause)

/**
 * Whether the database file is on a filesystem that takes no writes (EROFS: remounted read-only, as the kernel
 * does after a disk error), asked of the kernel (access(2)) without writing anything. A file that only lost its
 * write permission is not: a connection opened before keeps writing, and the next start refuses it.
 */
export function onReadOnlyFilesystem(path: string): boolean {
  if (path === '' || path === ':memory:') return false
  try {
    accessSync(path, constants.W_OK)
    return false
  } catch (error) {
    return (error as { code?: unknown }).code === 'EROFS'
  }
}
