import { and, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import type { BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { microsToUsd } from '../budget/money'
import * as schema from '../db/schema'
import { apiRequestLog, reservations, usage, USAGE_DAY } from '../db/schema'

/**
 * The records queries: usage rows, their totals and summary, the request log and the console's per-day
 * aggregates. Plain data in, plain data out, so that they run as well on a reader thread's own connection
 * (see RecordsReader) as on the gateway's. Validation (cursors, a model as the client names it) is the
 * caller's: these only read.
 */
type ReadDb = BunSQLiteDatabase<typeof schema>

/** Usage filters as the queries take them: times in unix ms, the model already `provider:model`. */
export interface UsageFilterValues {
  user_id?: string
  key_id?: string
  model?: string
  status?: 'ok' | 'error' | 'aborted' | 'expired'
  since?: number
  until?: number
}

/** One row of the usage summary is one of these groups. */
export interface SummaryKey {
  day: string
  userId: string
  model: string
}

const iso = (ms: number) => new Date(ms).toISOString()

export const presentUsage = (r: typeof usage.$inferSelect) => ({
  id: r.id,
  request_id: r.requestId,
  created_at: iso(r.createdAt),
  user_id: r.userId,
  key_id: r.keyId,
  model: r.model,
  provider: r.provider,
  endpoint: r.endpoint,
  prompt_tokens: r.promptTokens,
  completion_tokens: r.completionTokens,
  cached_tokens: r.cachedTokens,
  cost: microsToUsd(r.cost),
  reserved: microsToUsd(r.reserved),
  price_id: r.priceId,
  status: r.status,
  latency_ms: r.latencyMs,
  stream: r.stream,
})

export const usageFilter = (q: UsageFilterValues): SQL | undefined =>
  and(
    q.user_id ? eq(usage.userId, q.user_id) : undefined,
    q.key_id ? eq(usage.keyId, q.key_id) : undefined,
    q.model ? eq(usage.model, q.model) : undefined,
    q.status ? eq(usage.status, q.status) : undefined,
    q.since !== undefined ? gte(usage.createdAt, q.since) : undefined,
    q.until !== undefined ? lt(usage.createdAt, q.until) : undefined,
  )

/** The UTC day of a usage row, as the summary groups it. */
const usageDay = sql<string>`strftime('%Y-%m-%d', ${usage.createdAt} / 1000, 'unixepoch')`

/** Groups after `k` in the summary's order: day descending, then user and model ascending. */
const afterGroup = (k: SummaryKey) =>
  or(lt(usageDay, k.day), and(eq(usageDay, k.day), or(gt(usage.userId, k.userId), and(eq(usage.userId, k.userId), gt(usage.model, k.model)))))

export interface PageArgs {
  limit: number
  offset?: number
}

/** Rows newest first, `limit + 1` of them (the caller pages); after the cursor id, or from the offset. */
export function usageRows(db: ReadDb, q: UsageFilterValues & PageArgs & { after?: number }) {
  return db
    .select()
    .from(usage)
    .where(and(usageFilter(q), q.after !== undefined ? lt(usage.id, q.after) : undefined))
    .orderBy(desc(usage.id))
    .limit(q.limit + 1)
    .offset(q.after !== undefined ? 0 : (q.offset ?? 0))
    .all()
}

export function usageTotals(db: ReadDb, q: UsageFilterValues) {
  const t = db
    .select({
      requests: sql<number>`count(*)`,
      prompt_tokens: sql<number>`coalesce(sum(${usage.promptTokens}), 0)`,
      completion_tokens: sql<number>`coalesce(sum(${usage.completionTokens}), 0)`,
      cached_tokens: sql<number>`coalesce(sum(${usage.cachedTokens}), 0)`,
      cost: sql<number>`coalesce(sum(${usage.cost}), 0)`,
    })
    .from(usage)
    .where(usageFilter(q))
    .get()!
  return { ...t, cost: microsToUsd(t.cost) }
}

/** Summary groups (day, user, model), `limit + 1` of them, after the cursor's group or from the offset. */
export function usageSummaryRows(db: ReadDb, q: UsageFilterValues & PageArgs & { after?: SummaryKey }) {
  return db
    .select({
      user_id: usage.userId,
      model: usage.model,
      day: usageDay,
      requests: sql<number>`count(*)`,
      prompt_tokens: sql<number>`sum(${usage.promptTokens})`,
      completion_tokens: sql<number>`sum(${usage.completionTokens})`,
      cached_tokens: sql<number>`sum(${usage.cachedTokens})`,
      cost: sql<number>`sum(${usage.cost})`,
    })
    .from(usage)
    .where(and(usageFilter(q), q.after ? afterGroup(q.after) : undefined))
    .groupBy(usage.userId, usage.model, usageDay)
    .orderBy(desc(usageDay), usage.userId, usage.model)
    .limit(q.limit + 1)
    .offset(q.after ? 0 : (q.offset ?? 0))
    .all()
}

export interface AuditFilterValues {
  key_id?: string
  user_id?: string
  status?: number
  method?: string
  route?: string
  /** The addresses whose rows match: the client's, and the source its refusals are counted under. */
  client_ips?: string[]
  since?: number
  until?: number
}

/** Request log rows newest first, `limit + 1` of them. */
export function auditRows(db: ReadDb, q: AuditFilterValues & PageArgs & { after?: number }) {
  return db
    .select()
    .from(apiRequestLog)
    .where(
      and(
        q.key_id ? eq(apiRequestLog.keyId, q.key_id) : undefined,
        q.user_id ? eq(apiRequestLog.userId, q.user_id) : undefined,
        q.status !== undefined ? eq(apiRequestLog.status, q.status) : undefined,
        q.method ? eq(apiRequestLog.method, q.method) : undefined,
        q.route ? eq(apiRequestLog.route, q.route) : undefined,
        q.client_ips ? inArray(apiRequestLog.clientIp, q.client_ips) : undefined,
        q.since !== undefined ? gte(apiRequestLog.createdAt, q.since) : undefined,
        q.until !== undefined ? lte(apiRequestLog.createdAt, q.until) : undefined,
        q.after !== undefined ? lt(apiRequestLog.id, q.after) : undefined,
      ),
    )
    .orderBy(desc(apiRequestLog.id))
    .limit(q.limit + 1)
    .offset(q.after !== undefined ? 0 : (q.offset ?? 0))
    .all()
}

const DAY_MS = 86_400_000
const dayColumn = sql<number>`${USAGE_DAY}`

/**
 * Requests and cost per UTC day and model (or user), from `fromDay` to `toDay` inclusive. With no filter
 * but the model, the range is said as days, which the day indexes serve in their order (see
 * usage_day_model in the schema); a filter on anything else is better served by the row's time (the
 * user's, key's or time index, reading rows in the order they were written).
 */
export function usagePerDay(db: ReadDb, q: { by: 'model' | 'user'; fromDay: number; toDay: number; filter?: UsageFilterValues }) {
  const column = q.by === 'user' ? usage.userId : usage.model
  const filter = q.filter ?? {}
  return db
    .select({ day: dayColumn, name: column, requests: sql<number>`count(*)`, cost: sql<number>`sum(${usage.cost})` })
    .from(usage)
    .where(
      filter.user_id || filter.key_id || filter.status
        ? usageFilter({ ...filter, since: q.fromDay * DAY_MS, until: (q.toDay + 1) * DAY_MS })
        : and(gte(dayColumn, q.fromDay), lte(dayColumn, q.toDay), usageFilter({ model: filter.model })),
    )
    .groupBy(dayColumn, column)
    .all()
}

/** Holds open in the database, every process's. */
export const openHolds = (db: ReadDb) =>
  db.select({ count: sql<number>`count(*)`, amount: sql<number>`coalesce(sum(${reservations.amount}), 0)` }).from(reservations).get()!

/** Every query a records reader answers, by name. */
export const recordsQueries = { usageRows, usageTotals, usageSummaryRows, auditRows, usagePerDay, openHolds }
export type RecordsQueries = typeof recordsQueries
