import { badRequest } from '../../http/errors'

import type { SummaryKey } from '../../records/usage-queries'

export type { SummaryKey }

const invalid = () => badRequest('Invalid query: cursor: is not one this API returned')

/** The summary's `next_cursor`: the group of the last row shown, opaque to clients (base64url JSON). */
export const summaryCursor = {
  encode: (k: SummaryKey): string => Buffer.from(JSON.stringify([k.day, k.userId, k.model])).toString('base64url'),

  decode(cursor: string | undefined): SummaryKey | undefined {
    if (cursor === undefined) return undefined
    let parts: unknown
    try {
      parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    } catch {
      throw invalid()
    }
    // A NUL is let through: a SQLite file may hold model names with one (written before they were refused, see
    // src/cli/migrate.ts), and the page after such a group starts from it. On Postgres no row holds one, and the
    // query it is bound into fails (22021), which the error handler answers with a 400.
    if (!Array.isArray(parts) || parts.length !== 3 || !parts.every((p) => typeof p === 'string')) throw invalid()
    const [day, userId, model] = parts as [string, string, string]
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(day))) throw invalid()
    return { day, userId, model }
  },
}
