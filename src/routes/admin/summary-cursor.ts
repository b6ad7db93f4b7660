import type { SummaryKey, UsageFilterValues } from '../../records/usage-queries'
import { cursorNotReturned } from './pagination'

export type { SummaryKey }

const DAY_MS = 86_400_000

/** The UTC day number of a `YYYY-MM-DD` that the calendar has (not `2024-02-31`, which Date.parse reads as March 2), else NaN. */
function calendarDay(day: string): number {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return NaN
  const ms = Date.parse(`${day}T00:00:00Z`)
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === day ? ms / DAY_MS : NaN
}

/** Whether the query's own filters list the group: a cursor of its pages names a group one of them showed. */
function listedBy(k: SummaryKey, day: number, q: UsageFilterValues): boolean {
  if (q.user_id !== undefined && k.userId !== q.user_id) return false
  if (q.models !== undefined && !q.models.includes(k.model)) return false
  if (q.since !== undefined && day < Math.floor(q.since / DAY_MS)) return false
  return q.until === undefined || day <= Math.floor((q.until - 1) / DAY_MS)
}

/** Where a summary walk goes on from: after the group `after`, reading the usage as of the walk's first page (`asOf`). */
interface SummaryPosition {
  after: SummaryKey
  /** The highest usage id the walk's first page read; a cursor of an older version has none (the usage as it now is). */
  asOf?: number
}

/**
 * The summary's `next_cursor`: the group of the last row shown and the walk's read point, opaque to clients
 * (base64url JSON).
 */
export const summaryCursor = {
  encode: (k: SummaryKey, asOf: number): string => Buffer.from(JSON.stringify([k.day, k.userId, k.model, asOf])).toString('base64url'),

  /**
   * The group a cursor of this query's pages names. One that is not such a group (not our JSON, a day no calendar
   * has, a group the query's filters leave out: a cursor of another query's pages) is refused with a 400, not read
   * as a position that answers an empty page or skips rows. The key and status filters are not in a group, so a
   * cursor cannot be held to them; its group is a position in the summary's order all the same. A read point that
   * is not a whole number of 0 or more is refused; any other is a moment's usage, whichever (one past every row
   * reads the usage as it now is).
   */
  decode(cursor: string | undefined, query: UsageFilterValues): SummaryPosition | undefined {
    if (cursor === undefined) return undefined
    let parts: unknown
    try {
      parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    } catch {
      throw cursorNotReturned()
    }
    // A NUL is let through: a SQLite file may hold model names with one (written before they were refused, see
    // src/cli/migrate.ts), and the page after such a group starts from it. On Postgres no row holds one, and the
    // query it is bound into fails (22021), which the error handler answers with a 400.
    if (!Array.isArray(parts) || (parts.length !== 3 && parts.length !== 4) || !parts.slice(0, 3).every((p) => typeof p === 'string')) throw cursorNotReturned()
    const [day, userId, model, asOf] = parts as [string, string, string, unknown]
    if (asOf !== undefined && !(Number.isSafeInteger(asOf) && (asOf as number) >= 0)) throw cursorNotReturned()
    const key = { day, userId, model }
    const dayNumber = calendarDay(day)
    if (Number.isNaN(dayNumber) || !listedBy(key, dayNumber, query)) throw cursorNotReturned()
    return { after: key, asOf: asOf as number | undefined }
  },
}
