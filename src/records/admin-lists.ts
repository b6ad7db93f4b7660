import { and, asc, eq, gt, inArray } from 'drizzle-orm'
import type { RecordsSource } from './usage-queries'

/** A page of GET /v1/keys or /v1/users, as the route validated it: past `cursor` (an id), or from `offset`. */
interface AdminPageArgs {
  cursor?: string
  limit: number
  offset: number
}

/**
 * Keys by id, of one user or all: a records query (src/records/usage-queries.ts), run off the request thread as
 * the others are, since an `offset` reads and throws away every row before it: a million keys deep, ~40 ms of the
 * thread that answers every request. Each key says whether its user is blocked (the gateway refuses its keys), read
 * for the page's users alone, not joined to every row the offset passes.
 */
export async function keyRows({ db, tables: { apiKeys, users } }: RecordsSource, q: AdminPageArgs & { userId?: string }) {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(q.userId !== undefined ? eq(apiKeys.userId, q.userId) : undefined, q.cursor !== undefined ? gt(apiKeys.id, q.cursor) : undefined))
    .orderBy(asc(apiKeys.id))
    .limit(q.limit)
    .offset(q.cursor !== undefined ? 0 : q.offset)
  const userIds = [...new Set(rows.map((r) => r.userId))]
  const blocked = userIds.length === 0
    ? []
    : await db.select({ id: users.id }).from(users).where(and(inArray(users.id, userIds), eq(users.blocked, true)))
  const blockedIds = new Set(blocked.map((u) => u.id))
  return rows.map((r) => ({ ...r, userBlocked: blockedIds.has(r.userId) }))
}

/** Users by id, as `keyRows` reads keys. */
export async function userRows({ db, tables: { users } }: RecordsSource, q: AdminPageArgs) {
  return db
    .select()
    .from(users)
    .where(q.cursor !== undefined ? gt(users.id, q.cursor) : undefined)
    .orderBy(asc(users.id))
    .limit(q.limit)
    .offset(q.cursor !== undefined ? 0 : q.offset)
}
