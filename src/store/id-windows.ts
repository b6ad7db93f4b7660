import { yieldToRequests } from '../db/maintenance'

/** Rows one statement of the alert check walks at most: a few milliseconds of the request thread on SQLite. */
export const ID_WINDOW = 1_000

/** No bound on the rows found (SQLite and Postgres both take it as a LIMIT). */
export const ALL_FOUND = Number.MAX_SAFE_INTEGER

/**
 * The first `limit` rows by id past `after` that `foundIn` finds, looked for a window of ids at a time (past `after`
 * up to `windowEnd(after)`, the last of the next ID_WINDOW ids; null: none left), yielding to requests between
 * windows. A filter no index can answer (spend against a share of the budget) would otherwise walk the whole table
 * in one statement, whatever its LIMIT: a million users under their thresholds held the request thread ~350 ms.
 */
export async function foundByIdWindows<T>(
  windowEnd: (after: string) => Promise<string | null>,
  foundIn: (after: string, end: string, limit: number) => Promise<T[]>,
  after: string,
  limit: number,
): Promise<T[]> {
  const found: T[] = []
  for (;;) {
    const end = await windowEnd(after)
    if (end === null) return found
    found.push(...(await foundIn(after, end, limit - found.length)))
    if (found.length >= limit) return found
    after = end
    await yieldToRequests()
  }
}
