import { and, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import { microsToUsd } from '../budget/money'
import { USAGE_DAY, type usage } from '../db/schema'
import type { Store } from '../store/store'

/**
 * The records queries: usage rows, their totals and summary, the request log and the console's per-day
 * aggregates. Plain data in, plain data out, so that they run as well on a reader thread's own SQLite
 * connection (see RecordsReader) as on the Postgres store's pool. They keep to what both dialects' builders
 * share (see Store.db), and read sums back as numbers: Postgres answers a bigint sum as numeric (text).
 * Validation (cursors, a model as the client names it) is the caller's: these only read.
 */
export type RecordsSource = Pick<Store, 'db' | 'tables' | 'usageDay'>
type UsageTable = RecordsSource['tables']['usage']

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

export const usageFilter = (usage: UsageTable, q: UsageFilterValues): SQL | undefined =>
  and(
    q.user_id ? eq(usage.userId, q.user_id) : undefined,
    q.key_id ? eq(usage.keyId, q.key_id) : undefined,
    q.model ? eq(usage.model, q.model) : undefined,
    q.status ? eq(usage.status, q.status) : undefined,
    q.since !== undefined ? gte(usage.createdAt, q.since) : undefined,
    q.until !== undefined ? lt(usage.createdAt, q.until) : undefined,
  )

/** Groups after `k` in the summary's order: day descending, then user and model ascending. */
const afterGroup = (usage: UsageTable, usageDay: SQL<string>, k: SummaryKey) =>
  or(lt(usageDay, k.day), and(eq(usageDay, k.day), or(gt(usage.userId, k.userId), and(eq(usage.userId, k.userId), gt(usage.model, k.model)))))

export interface PageArgs {
  limit: number
  offset?: number
}

/** Rows newest first, `limit + 1` of them (the caller pages); after the cursor id, or from the offset. */
export function usageRows({ db, tables: { usage } }: RecordsSource, q: UsageFilterValues & PageArgs & { after?: number }) {
  return db
    .select()
    .from(usage)
    .where(and(usageFilter(usage, q), q.after !== undefined ? lt(usage.id, q.after) : undefined))
    .orderBy(desc(usage.id))
    .limit(q.limit + 1)
    .offset(q.after !== undefined ? 0 : (q.offset ?? 0))
}

export async function usageTotals({ db, tables: { usage } }: RecordsSource, q: UsageFilterValues) {
  const [t] = await db
    .select({
      requests: sql<number>`count(*)`,
      prompt_tokens: sql<number>`coalesce(sum(${usage.promptTokens}), 0)`,
      completion_tokens: sql<number>`coalesce(sum(${usage.completionTokens}), 0)`,
      cached_tokens: sql<number>`coalesce(sum(${usage.cachedTokens}), 0)`,
      cost: sql<number>`coalesce(sum(${usage.cost}), 0)`,
    })
    .from(usage)
    .where(usageFilter(usage, q))
  return {
    requests: Number(t!.requests), prompt_tokens: Number(t!.prompt_tokens), completion_tokens: Number(t!.completion_tokens),
    cached_tokens: Number(t!.cached_tokens), cost: microsToUsd(Number(t!.cost)),
  }
}

/** Summary groups (day, user, model), `limit + 1` of them, after the cursor's group or from the offset. */
export async function usageSummaryRows(store: RecordsSource, q: UsageFilterValues & PageArgs & { after?: SummaryKey }) {
  const { usage } = store.tables
  const usageDay = store.usageDay(usage.createdAt)
  const rows = await store.db
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
    .where(and(usageFilter(usage, q), q.after ? afterGroup(usage, usageDay, q.after) : undefined))
    .groupBy(usage.userId, usage.model, usageDay)
    .orderBy(desc(usageDay), usage.userId, usage.model)
    .limit(q.limit + 1)
    .offset(q.after ? 0 : (q.offset ?? 0))
  return rows.map((r) => ({
    ...r, requests: Number(r.requests), prompt_tokens: Number(r.prompt_tokens), completion_tokens: Number(r.completion_tokens),
    cached_tokens: Number(r.cached_tokens), cost: Number(r.cost),
  }))
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
export function auditRows({ db, tables: { apiRequestLog } }: RecordsSource, q: AuditFilterValues & PageArgs & { after?: number }) {
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
}

const DAY_MS = 86_400_000
const dayColumn = sql<number>`${USAGE_DAY}`

/**
 * Requests and cost per UTC day and model (or user), from `fromDay` to `toDay` inclusive. With no filter
 * but the model, the range is said as days, which the day indexes serve in their order (see
 * usage_day_model in the schema); a filter on anything else is better served by the row's time (the
 * user's, key's or time index, reading rows in the order they were written).
 */
export async function usagePerDay({ db, tables: { usage } }: RecordsSource, q: { by: 'model' | 'user'; fromDay: number; toDay: number; filter?: UsageFilterValues }) {
  const column = q.by === 'user' ? usage.userId : usage.model
  const filter = q.filter ?? {}
  const rows = await db
    .select({ day: dayColumn, name: column, requests: sql<number>`count(*)`, cost: sql<number>`sum(${usage.cost})` })
    .from(usage)
    .where(
      filter.user_id || filter.key_id || filter.status
        ? usageFilter(usage, { ...filter, since: q.fromDay * DAY_MS, until: (q.toDay + 1) * DAY_MS })
        : and(gte(dayColumn, q.fromDay), lte(dayColumn, q.toDay), usageFilter(usage, { model: filter.model })),
    )
    .groupBy(dayColumn, column)
  return rows.map((r) => ({ day: Number(r.day), name: r.name, requests: Number(r.requests), cost: Number(r.cost) }))
}

/** Holds open in the database, every process's. */
export async function openHolds({ db, tables: { reservations } }: RecordsSource) {
  const [h] = await db.select({ count: sql<number>`count(*)`, amount: sql<number>`coalesce(sum(${reservations.amount}), 0)` }).from(reservations)
  return { count: Number(h!.count), amount: Number(h!.amount) }
}

/** Every query a records reader answers, by name. */
export const recordsQueries = { usageRows, usageTotals, usageSummaryRows, auditRows, usagePerDay, openHolds }
export type RecordsQueries = typeof recordsQueries
