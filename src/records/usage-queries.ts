import { and, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import { microsToUsd } from '../budget/money'
import { USAGE_DAY, type usage } from '../db/schema'
import type { Store } from '../store/store'
import { toolUsesOf } from '../store/usage-row'
import { keyRows, userRows } from './admin-lists'
import { alertDeliveryCounts, alertRows } from './alert-queries'
import { refusalsPerDay } from './refusal-queries'

/**
 * The records queries: usage rows, their totals and summary, the request log and the console's per-day
 * aggregates. Plain data in, plain data out, so that they run as well on a reader thread's own SQLite
 * connection (see RecordsReader) as on the Postgres store's pool. They keep to what both dialects' builders
 * share (see Store.db), and read sums back as numbers: Postgres answers a bigint sum as numeric (text).
 * Validation (cursors, a model as the client names it) is the caller's: these only read.
 */
export type RecordsSource = Pick<Store, 'db' | 'tables'>
type Tables = RecordsSource['tables']
type UsageTable = Tables['usage']

/** Usage filters as the queries take them: times in unix ms, the model as the `provider:model` names it may stand for. */
export interface UsageFilterValues {
  user_id?: string
  key_id?: string
  /** A row of any of these models matches (see ProviderRegistry.canonicalNames). */
  models?: readonly string[]
  status?: 'ok' | 'error' | 'aborted' | 'expired'
  since?: number
  until?: number
  /**
   * Rows with ids up to this one only: the usage as a summary walk's first page read it, its highest id (rows are
   * numbered as they are written and never changed or deleted, so a later row has a higher id). On Postgres two
   * settlements committing at once may commit out of id order: one in flight at the first page, numbered below one
   * committed before it, is counted from the next page on.
   */
  asOf?: number
}

/** One row of the usage summary is one of these groups. */
export interface SummaryKey {
  /** `YYYY-MM-DD`, UTC. */
  day: string
  userId: string
  model: string
}

const DAY_MS = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()
const dayName = (day: number) => iso(day * DAY_MS).slice(0, 10)

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
  cache_write_tokens: r.cacheWriteTokens,
  server_tool_uses: toolUsesOf(r.serverToolUses),
})

const usageFilter = (usage: UsageTable, q: UsageFilterValues): SQL | undefined =>
  and(
    q.user_id !== undefined ? eq(usage.userId, q.user_id) : undefined,
    q.key_id !== undefined ? eq(usage.keyId, q.key_id) : undefined,
    q.models !== undefined ? inArray(usage.model, [...q.models]) : undefined,
    q.status !== undefined ? eq(usage.status, q.status) : undefined,
    // Said as the partial index usage_not_ok says it (a literal, not a parameter), so that SQLite uses it.
    q.status !== undefined && q.status !== 'ok' ? sql`${usage.status} <> 'ok'` : undefined,
    q.since !== undefined ? gte(usage.createdAt, q.since) : undefined,
    q.until !== undefined ? lt(usage.createdAt, q.until) : undefined,
    // `+id`: a bound that is no filter to the planner, which must not walk the primary key for it past a time index.
    q.asOf !== undefined ? sql`+${usage.id} <= ${q.asOf}` : undefined,
  )

interface PageArgs {
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

/** Whether the filter lists the usage row `id` (a list's cursor names the last row a page of it showed). */
async function usageRowListed({ db, tables: { usage } }: RecordsSource, q: UsageFilterValues & { id: number }): Promise<boolean> {
  const rows = await db.select({ id: usage.id }).from(usage).where(and(eq(usage.id, q.id), usageFilter(usage, q))).limit(1)
  return rows.length > 0
}

/**
 * Where a time range's rows are summed from: the whole UTC days in it from a daily rollup (`days`, `from`
 * inclusive to `to` exclusive, either end open), and the partial days at its ends from raw rows (`latest`,
 * `earliest`: time ranges). Newest first, as the summary lists them; the parts never share a day.
 */
interface DayParts {
  latest?: { since: number; until: number }
  days?: { from?: number; to?: number }
  earliest?: { since: number; until: number }
}

function dayParts(since: number | undefined, until: number | undefined): DayParts {
  const from = since === undefined ? undefined : Math.ceil(since / DAY_MS)
  const to = until === undefined ? undefined : Math.floor(until / DAY_MS)
  // Within one day, or across one midnight with no whole day between: raw rows only.
  if (from !== undefined && to !== undefined && from >= to) return { latest: { since: since!, until: until! } }
  return {
    latest: to !== undefined && to * DAY_MS < until! ? { since: to * DAY_MS, until: until! } : undefined,
    days: { from, to },
    earliest: from !== undefined && since! < from * DAY_MS ? { since: since!, until: from * DAY_MS } : undefined,
  }
}

/** One source of a range's sums: raw rows over a time range, or a rollup's whole days (`from` inclusive, `to` exclusive). */
type Part = { raw: { since: number; until: number } } | { days: { from?: number; to?: number } }

/**
 * dayParts as a list, newest first, with each of the `rawDays` (day numbers) that falls among the whole days read
 * from raw rows instead: a day with rows past a walk's read point (`asOf`), whose rollup already sums them.
 */
function partsOf(since: number | undefined, until: number | undefined, rawDays: readonly number[]): Part[] {
  const { latest, days, earliest } = dayParts(since, until)
  const parts: Part[] = latest ? [{ raw: latest }] : []
  if (days) {
    let to = days.to
    for (const day of [...new Set(rawDays)].sort((a, b) => b - a)) {
      if ((days.to !== undefined && day >= days.to) || (days.from !== undefined && day < days.from)) continue
      const range = { since: day * DAY_MS, until: (day + 1) * DAY_MS }
      const last = parts.at(-1)
      // Days in a row are one range: a read point far behind (a forged 0) is one scan, not a query per day.
      if (day + 1 === to && last && 'raw' in last && last.raw.since === range.until) last.raw.since = range.since
      else {
        if (to === undefined || day + 1 < to) parts.push({ days: { from: day + 1, to } })
        parts.push({ raw: range })
      }
      to = day
    }
    if (to === undefined || days.from === undefined || days.from < to) parts.push({ days: { from: days.from, to } })
  }
  if (earliest) parts.push({ raw: earliest })
  return parts
}

/** The days of the usage rows past `asOf` (a walk's read point): the days whose rollup rows count more than it does. */
async function daysPast({ db, tables: { usage } }: RecordsSource, asOf: number | undefined): Promise<number[]> {
  if (asOf === undefined) return []
  const rows = await db.select({ day: sql<number>`${USAGE_DAY}` }).from(usage).where(gt(usage.id, asOf)).groupBy(sql`${USAGE_DAY}`)
  return rows.map((r) => Number(r.day))
}

/**
 * The highest usage id (0 for none): the read point a summary walk's first page hands its cursor. Exact on SQLite
 * (one writer, ids in commit order); on Postgres a row inserted before and committed after it, with a lower id, is
 * counted by later pages (README says so: commit-order visibility would need the snapshot in the cursor and a
 * heap check of xmin on every raw row read).
 */
async function lastUsageId({ db, tables: { usage } }: RecordsSource): Promise<number> {
  const [row] = await db.select({ id: sql<number>`coalesce(max(${usage.id}), 0)` }).from(usage)
  return Number(row!.id)
}

type RollupTable = Tables['usageDaily'] | Tables['usageDailyUsers'] | Tables['usageDailyModels']

/**
 * The narrowest rollup that can answer a filter and a grouping: day × model × status and day × user × status
 * are a small fraction of day × user × key × model × status, which alone can answer a key filter or both a
 * user and a model.
 */
function rollupFor(tables: Tables, q: UsageFilterValues, by?: 'model' | 'user'): RollupTable {
  const needsUser = by === 'user' || q.user_id !== undefined
  const needsModel = by === 'model' || q.models !== undefined
  if (q.key_id !== undefined || (needsUser && needsModel)) return tables.usageDaily
  return needsUser ? tables.usageDailyUsers : tables.usageDailyModels
}

/** A rollup's rows under the usage filters, over whole days from `from` to `to` (exclusive). */
function rollupFilter(t: RollupTable, q: UsageFilterValues, days: { from?: number; to?: number }): SQL | undefined {
  return and(
    q.user_id !== undefined ? eq((t as Tables['usageDaily']).userId, q.user_id) : undefined,
    q.key_id !== undefined ? eq((t as Tables['usageDaily']).keyId, q.key_id) : undefined,
    q.models !== undefined ? inArray((t as Tables['usageDaily']).model, [...q.models]) : undefined,
    q.status !== undefined ? eq(t.status, q.status) : undefined,
    days.from !== undefined ? gte(t.day, days.from) : undefined,
    days.to !== undefined ? lt(t.day, days.to) : undefined,
  )
}

const sums = (requests: SQL<number>, t: { promptTokens: unknown; completionTokens: unknown; cachedTokens: unknown; cost: unknown }) => ({
  requests,
  prompt_tokens: sql<number>`coalesce(sum(${t.promptTokens}), 0)`,
  completion_tokens: sql<number>`coalesce(sum(${t.completionTokens}), 0)`,
  cached_tokens: sql<number>`coalesce(sum(${t.cachedTokens}), 0)`,
  cost: sql<number>`coalesce(sum(${t.cost}), 0)`,
})
const numbers = <T extends { requests: unknown; prompt_tokens: unknown; completion_tokens: unknown; cached_tokens: unknown; cost: unknown }>(r: T) => ({
  ...r, requests: Number(r.requests), prompt_tokens: Number(r.prompt_tokens), completion_tokens: Number(r.completion_tokens),
  cached_tokens: Number(r.cached_tokens), cost: Number(r.cost),
})

/** Totals over every matching row: whole days from a rollup, the partial days at the range's ends from raw rows. */
async function usageTotals(source: RecordsSource, q: UsageFilterValues) {
  const { db, tables } = source
  const { usage } = tables
  const rollup = rollupFor(tables, q)
  const parts = await Promise.all(
    partsOf(q.since, q.until, await daysPast(source, q.asOf)).map((part) =>
      'raw' in part
        ? db.select(sums(sql<number>`count(*)`, usage)).from(usage).where(usageFilter(usage, { ...q, ...part.raw }))
        : db.select(sums(sql<number>`coalesce(sum(${rollup.requests}), 0)`, rollup)).from(rollup).where(rollupFilter(rollup, q, part.days)),
    ),
  )
  const t = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cost: 0 }
  for (const [part] of parts) {
    const p = numbers(part!)
    t.requests += p.requests
    t.prompt_tokens += p.prompt_tokens
    t.completion_tokens += p.completion_tokens
    t.cached_tokens += p.cached_tokens
    t.cost += p.cost
  }
  return { ...t, cost: microsToUsd(t.cost) }
}

/** The summary's groups in its order (day descending, then user and model ascending) after `k`. */
function afterGroup(columns: { day: unknown; userId: unknown; model: unknown }, k: { day: number; userId: string; model: string }) {
  const [day, userId, model] = [sql`${columns.day}`, sql`${columns.userId}`, sql`${columns.model}`]
  // `day <= k.day` first, so that the group index is read from the cursor's day on.
  return and(lte(day, k.day), or(lt(day, k.day), or(gt(userId, k.userId), and(eq(userId, k.userId), gt(model, k.model)))))
}

/**
 * Summary groups (day, user, model), `limit + 1` of them, after the cursor's group or from the offset. The
 * range's parts are read newest first, each only as far as the page needs: the partial day at its end (raw
 * rows), the whole days (the rollup, in its group index's order, so a page stops at its limit) and the
 * partial day at its start. An offset past a part counts that part's groups.
 */
async function usageSummaryRows(source: RecordsSource, q: UsageFilterValues & PageArgs & { after?: SummaryKey }) {
  const { db, tables } = source
  const { usage, usageDaily: rollup } = tables
  const after = q.after ? { ...q.after, day: Date.parse(`${q.after.day}T00:00:00Z`) / DAY_MS } : undefined
  const rawDay = sql<number>`${USAGE_DAY}`
  const raw = (range: { since: number; until: number }) => {
    const where = and(usageFilter(usage, { ...q, ...range }), after ? afterGroup({ day: rawDay, userId: usage.userId, model: usage.model }, after) : undefined)
    // A builder is changed by orderBy and limit: each query starts from a new one.
    const groups = () =>
      db.select({ day: rawDay, user_id: usage.userId, model: usage.model, ...sums(sql<number>`count(*)`, usage) }).from(usage).where(where).groupBy(rawDay, usage.userId, usage.model)
    return {
      page: (limit: number, offset: number) => groups().orderBy(desc(rawDay), usage.userId, usage.model).limit(limit).offset(offset),
      count: () => db.select({ n: sql<number>`count(*)` }).from(groups().as('groups')),
    }
  }
  const whole = (days: { from?: number; to?: number }) => {
    const where = and(rollupFilter(rollup, q, days), after ? afterGroup(rollup, after) : undefined)
    const groups = () =>
      db
        .select({ day: rollup.day, user_id: rollup.userId, model: rollup.model, ...sums(sql<number>`sum(${rollup.requests})`, rollup) })
        .from(rollup)
        .where(where)
        .groupBy(rollup.day, rollup.userId, rollup.model)
    return {
      page: (limit: number, offset: number) => groups().orderBy(desc(rollup.day), rollup.userId, rollup.model).limit(limit).offset(offset),
      count: () => db.select({ n: sql<number>`count(*)` }).from(groups().as('groups')),
    }
  }
  const parts = partsOf(q.since, q.until, await daysPast(source, q.asOf)).map((part) => ('raw' in part ? raw(part.raw) : whole(part.days)))
  const rows: Array<ReturnType<typeof numbers<{ day: number; user_id: string; model: string } & Record<'requests' | 'prompt_tokens' | 'completion_tokens' | 'cached_tokens' | 'cost', unknown>>>> = []
  let offset = after ? 0 : (q.offset ?? 0)
  for (const part of parts) {
    const need = q.limit + 1 - rows.length
    if (need <= 0) break
    const page = await part.page(need, offset)
    if (page.length > 0) offset = 0
    else if (offset > 0) offset -= Number((await part.count())[0]!.n)
    rows.push(...page.map(numbers))
  }
  return rows.map((r) => ({ ...r, day: dayName(Number(r.day)) }))
}

/**
 * A page of usage rows and the totals of every row its filter matches, in one answer: a reader runs each
 * answer on one snapshot, so the totals count exactly what the page lists (when it lists every row).
 */
async function usageRowsAndTotals(source: RecordsSource, q: UsageFilterValues & PageArgs & { after?: number }) {
  return { rows: await usageRows(source, q), totals: await usageTotals(source, q) }
}

/** A page of one key's usage (filtered by nothing else), newest first, from the start or a cursor. */
type KeysLatestUsage = { key_id: string; limit: number; offset?: 0; after?: number }

/**
 * Whether a usage page is one key's latest rows (KeysLatestUsage): no user, time range, model or status, and no
 * offset. A user beside the key is left to a scan: were the key another user's, no row would match, and the page would
 * walk the whole index looking for them (a caller that knows the key is the user's asks without the user).
 */
export const isKeysLatestUsage = (q: UsageFilterValues & PageArgs & { after?: number }): q is KeysLatestUsage =>
  q.key_id !== undefined && q.user_id === undefined && q.models === undefined && q.status === undefined && q.since === undefined &&
  q.until === undefined && !q.offset

/** The totals of a page no row matches. */
export const NO_USAGE_TOTALS = { requests: 0, prompt_tokens: 0, completion_tokens: 0, cached_tokens: 0, cost: microsToUsd(0) }

/**
 * usageRowsAndTotals of one key's latest rows: the page read from the key's index (usage_key_id, `limit + 1` entries
 * from the cursor on), the totals from the key's rows of the daily rollup (usage_daily_key). A few ms however much
 * usage the other keys have, so a quick read (see records-reader.ts), not a scan waiting behind reports.
 */
const keyUsagePage = (source: RecordsSource, q: KeysLatestUsage) => usageRowsAndTotals(source, q)

/**
 * A page of the summary's groups and the grand totals of every matching row, in one answer (one snapshot), as of
 * `asOf` when the page is a walk's next: `asOf` is the read point the walk's pages share, the first page's highest
 * usage id. The groups still growing are today's, on the first pages: read as they now are, a group a request made
 * after the first page (a user's first of the day) sorts before the cursor, so no later page would list it while
 * later totals count it.
 */
async function usageSummaryAndTotals(source: RecordsSource, q: UsageFilterValues & PageArgs & { after?: SummaryKey }) {
  return { rows: await usageSummaryRows(source, q), totals: await usageTotals(source, q), asOf: q.asOf ?? (await lastUsageId(source)) }
}

interface AuditFilterValues {
  key_id?: string
  user_id?: string
  status?: number
  /** The methods whose rows match: as the client sent it (a row with a key), and as refusals are counted (knownMethod). */
  methods?: string[]
  route?: string
  /** The addresses whose rows match: the client's, and the source its refusals are counted under. */
  client_ips?: string[]
  since?: number
  until?: number
}

/** Request log rows newest first, `limit + 1` of them. */
function auditRows({ db, tables: { apiRequestLog } }: RecordsSource, q: AuditFilterValues & PageArgs & { after?: number }) {
  return db
    .select()
    .from(apiRequestLog)
    .where(
      and(
        q.key_id !== undefined ? eq(apiRequestLog.keyId, q.key_id) : undefined,
        q.user_id !== undefined ? eq(apiRequestLog.userId, q.user_id) : undefined,
        q.status !== undefined ? eq(apiRequestLog.status, q.status) : undefined,
        q.methods ? inArray(apiRequestLog.method, q.methods) : undefined,
        q.route !== undefined ? eq(apiRequestLog.route, q.route) : undefined,
        q.client_ips ? inArray(apiRequestLog.clientIp, q.client_ips) : undefined,
        q.since !== undefined ? gte(apiRequestLog.createdAt, q.since) : undefined,
        q.until !== undefined ? lt(apiRequestLog.createdAt, q.until) : undefined,
        q.after !== undefined ? lt(apiRequestLog.id, q.after) : undefined,
      ),
    )
    .orderBy(desc(apiRequestLog.id))
    .limit(q.limit + 1)
    .offset(q.after !== undefined ? 0 : (q.offset ?? 0))
}

/**
 * Requests and cost per UTC day and model (or user), from `fromDay` to `toDay` inclusive, under the filter's
 * user, key, model and status: whole days from the narrowest rollup that can answer it, and a day the
 * filter's `since` or `until` cuts through from its raw rows in the range only, so that the chart of a range
 * sums what its summary and rows sum. With `top`, only the `top` dearest names over the range have rows of
 * their own; the rest are summed per day under the name null (a month of a thousand users is ~30,000
 * groups, which cost more to carry than to sum).
 */
async function usagePerDay(
  { db, tables }: RecordsSource,
  q: { by: 'model' | 'user'; fromDay: number; toDay: number; filter?: UsageFilterValues; top?: number },
) {
  const filter = q.filter ?? {}
  const { days, edges } = perDayParts(q.fromDay, q.toDay, filter.since, filter.until)
  const rollup = rollupFor(tables, filter, q.by) as Tables['usageDaily']
  const column = q.by === 'user' ? rollup.userId : rollup.model
  const where = rollupFilter(rollup, filter, days ?? { from: 0, to: 0 })
  const { usage } = tables
  const rawColumn = q.by === 'user' ? usage.userId : usage.model
  const rawDay = sql<number>`${USAGE_DAY}`
  const numeric = (r: { day: unknown; requests: unknown; cost: unknown }) => ({ day: Number(r.day), requests: Number(r.requests), cost: Number(r.cost) })

  const [edgeRows, wholeRows] = await Promise.all([
    Promise.all(
      edges.map((range) =>
        db
          .select({ day: rawDay, name: rawColumn, requests: sql<number>`count(*)`, cost: sql<number>`coalesce(sum(${usage.cost}), 0)` })
          .from(usage)
          .where(usageFilter(usage, { ...filter, ...range }))
          .groupBy(rawDay, rawColumn),
      ),
    ).then((parts) => parts.flat().map((r) => ({ ...numeric(r), name: r.name as string | null }))),
    q.top === undefined && days
      ? db
          .select({ day: rollup.day, name: column, requests: sql<number>`sum(${rollup.requests})`, cost: sql<number>`sum(${rollup.cost})` })
          .from(rollup)
          .where(where)
          .groupBy(rollup.day, column)
          .then((rows) => rows.map((r) => ({ ...numeric(r), name: r.name as string | null })))
      : Promise.resolve([]),
  ])
  if (q.top === undefined) return [...wholeRows, ...edgeRows]

  // The dearest names over the whole range: the whole days' totals per name and the cut days' rows together.
  const byName = new Map<string, number>()
  if (days)
    for (const r of await db.select({ name: column, cost: sql<number>`sum(${rollup.cost})` }).from(rollup).where(where).groupBy(column))
      byName.set(r.name, Number(r.cost))
  for (const r of edgeRows) if (r.name !== null) byName.set(r.name, (byName.get(r.name) ?? 0) + r.cost)
  const top = [...byName].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, q.top).map(([name]) => name)
  const named = new Set(top)

  const [namedRows, dayTotals] = days
    ? await Promise.all([
        top.length > 0
          ? db
              .select({ day: rollup.day, name: column, requests: sql<number>`sum(${rollup.requests})`, cost: sql<number>`sum(${rollup.cost})` })
              .from(rollup)
              .where(and(where, inArray(column, top)))
              .groupBy(rollup.day, column)
          : [],
        db.select({ day: rollup.day, requests: sql<number>`sum(${rollup.requests})`, cost: sql<number>`sum(${rollup.cost})` }).from(rollup).where(where).groupBy(rollup.day),
      ])
    : [[], []]
  const rest = new Map(dayTotals.map((d) => [Number(d.day), numeric(d)]))
  const rows: Array<{ day: number; name: string | null; requests: number; cost: number }> = namedRows.map((r) => ({ ...numeric(r), name: r.name }))
  for (const r of rows) {
    const d = rest.get(r.day)!
    d.requests -= r.requests
    d.cost -= r.cost
  }
  for (const r of edgeRows) {
    if (r.name !== null && named.has(r.name)) rows.push(r)
    else {
      const d = rest.get(r.day) ?? { day: r.day, requests: 0, cost: 0 }
      d.requests += r.requests
      d.cost += r.cost
      rest.set(r.day, d)
    }
  }
  for (const d of rest.values()) if (d.requests > 0) rows.push({ ...d, name: null })
  return rows
}

/**
 * The days from `fromDay` to `toDay` cut to the filter's `since` and `until`: those a rollup answers whole
 * (`from` inclusive, `to` exclusive; none when no day is whole), and the time ranges of the days cut
 * through, read from raw rows.
 */
function perDayParts(fromDay: number, toDay: number, since: number | undefined, until: number | undefined) {
  const lo = Math.max(fromDay * DAY_MS, since ?? -Infinity)
  const hi = Math.min((toDay + 1) * DAY_MS, until ?? Infinity)
  if (lo >= hi) return { days: undefined, edges: [] }
  const { latest, days, earliest } = dayParts(lo, hi)
  const whole = days?.from !== undefined && days.to !== undefined && days.from < days.to ? { from: days.from, to: days.to } : undefined
  return { days: whole, edges: [latest, earliest].filter((range) => range !== undefined) }
}

/** Holds open in the database, every process's. */
async function openHolds({ db, tables: { reservations } }: RecordsSource) {
  const [h] = await db.select({ count: sql<number>`count(*)`, amount: sql<number>`coalesce(sum(${reservations.amount}), 0)` }).from(reservations)
  return { count: Number(h!.count), amount: Number(h!.amount) }
}

/**
 * Every query a records reader answers, by name. Each is one answer, read on one snapshot of the database
 * (see RecordsReads): statements of one query never disagree about a settlement committed meanwhile.
 */
export const recordsQueries = { usageRows, usageRowListed, usageTotals, usageSummaryRows, usageRowsAndTotals, keyUsagePage, usageSummaryAndTotals, auditRows, usagePerDay, openHolds, refusalsPerDay, alertRows, alertDeliveryCounts, keyRows, userRows }
export type RecordsQueries = typeof recordsQueries
