const busyCode = (error: unknown): boolean => String((error as { code?: unknown } | null)?.code ?? '').startsWith('SQLITE_BUSY')

/**
 * Another connection holds the write lock, or moved the file on under a reader (SQLITE_BUSY and its extended
 * codes: _SNAPSHOT, _RECOVERY, _TIMEOUT), as bun:sqlite or drizzle (its `cause`) throws it. Nothing was
 * written; the same write may simply be tried again.
 */
export const isBusy = (error: unknown): boolean => busyCode(error) || busyCode((error as { cause?: unknown } | null)?.cause)
