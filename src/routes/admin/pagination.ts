import { z } from 'zod'
import { badRequest } from '../../http/errors'

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Opaque: the `next_cursor` of the previous page. */
  cursor: z.string().max(200).optional(),
  offset: z.coerce.number().int().min(0).optional(),
}

export interface Page<T> {
  data: T[]
  next_cursor: string | null
}

/** Fetches limit+1 rows to know whether another page follows, without a COUNT(*). */
export function toPage<R, T>(rows: R[], limit: number, present: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const more = rows.length > limit
  const shown = more ? rows.slice(0, limit) : rows
  return { data: shown.map(present), next_cursor: more ? cursorOf(shown[shown.length - 1]!) : null }
}

/** For lists shown newest first by integer id: the cursor is the id of the last row shown. */
export function idCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined
  const n = Number(cursor)
  if (!Number.isSafeInteger(n) || n < 0) throw badRequest('Invalid query: cursor: is not one this API returned')
  return n
}
