import { z } from 'zod'
import { badRequest } from '../../http/errors'
import { decimalInteger } from './strict-query'

const NOT_RETURNED = 'is not one this API returned'

/**
 * Opaque: the `next_cursor` of the previous page. No page's is empty (the last page's is null), so an empty
 * one is refused like any other this API did not return (the alerts and the summary did so already). Read as
 * "from the start", it would send a client that passes `?cursor=${next ?? ''}` after the last page back to
 * the first; read by an id-keyed list as id 0, it answered an empty last page.
 */
export const cursorText = z.string().min(1, `${NOT_RETURNED} (leave it out for the first page)`)

/**
 * The longest cursor a list hands out: the pricing list's is a model name, which a price may have up to 256
 * characters long (users' and keys' ids are shorter; id-keyed lists' are digits).
 */
const MAX_CURSOR = 256

export const pageQuery = {
  limit: decimalInteger(1, 1000).prefault(100),
  cursor: cursorText.max(MAX_CURSOR).optional(),
  offset: decimalInteger(0).optional(),
}

interface Page<T> {
  data: T[]
  next_cursor: string | null
}

/** Fetches limit+1 rows to know whether another page follows, without a COUNT(*). */
export function toPage<R, T>(rows: R[], limit: number, present: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const more = rows.length > limit
  const shown = more ? rows.slice(0, limit) : rows
  return { data: shown.map(present), next_cursor: more ? cursorOf(shown[shown.length - 1]!) : null }
}

/** The refusal of a cursor that no page of the query could have handed out. */
export const cursorNotReturned = () => badRequest(`Invalid query: cursor: ${NOT_RETURNED}`)

/** For lists shown newest first by integer id: the cursor is the id of the last row shown. */
export function idCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  // Digits only, as toPage writes an id: Number() would also read ' ' as 0, '0x1f' as 31 and '1e3' as 1000.
  const n = /^\d+$/.test(cursor) ? Number(cursor) : NaN
  if (!Number.isSafeInteger(n)) throw cursorNotReturned()
  return n
}
