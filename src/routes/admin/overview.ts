import { desc, eq } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { microsToUsd } from '../../budget/money'
import { badRequest, notFound } from '../../http/errors'
import { REFUSAL_KINDS, refusalKind, type RefusalKind } from '../../records/refusals'
import type { Services } from '../../services'
import { usageFilters, usageReader, type UsageFilters } from './records'
import { decimalInteger, filterText, strictQuery } from './strict-query'

const DAY_MS = 86_400_000
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const startOfDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS
const startOfMonth = (ms: number) => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth(), 1)
/** The most days one chart spans: a year, leap day included, whether asked for by `days` or by since/until. */
const MAX_DAYS = 366
/** The chart stacks this many groups by name; the rest are summed as one "other". */
const MAX_SERIES = 8

const dayNumber = (ms: number) => Math.floor(ms / DAY_MS)

/** The UTC days from `since` to `until` (exclusive), oldest first. */
function daysBetween(since: number, until: number): string[] {
  const days = []
  for (let d = startOfDay(since); d < until; d += DAY_MS) days.push(dayOf(d))
  return days
}

/** What the console's overview and charts read: spend aggregates, open holds, refusals, unpriced models asked for. */
export const overviewRoutes = (services: Services) => {
  const { ledger, prices, records, store } = services
  const { db, tables: { unpricedModels } } = store
  const { filterValues } = usageReader(services)

  /**
   * Requests and cost per UTC day and model (or user), from `fromDay` to `toDay` inclusive, the `top` dearest
   * names each with their own rows and the rest under the name null (see usagePerDay).
   */
  const perDay = (by: 'model' | 'user', fromDay: number, toDay: number, top: number, filter: UsageFilters, signal: AbortSignal) =>
    records.run('usagePerDay', { by, fromDay, toDay, filter: filterValues(filter), top }, signal)

  /** The named groups' totals, dearest first (by name when equal, as usagePerDay chooses them). */
  const ranked = (rows: Array<{ name: string | null; requests: number; cost: number }>) => {
    const totals = new Map<string, { name: string; requests: number; cost: number }>()
    for (const r of rows) {
      if (r.name === null) continue
      const t = totals.get(r.name) ?? { name: r.name, requests: 0, cost: 0 }
      t.requests += r.requests
      t.cost += r.cost
      totals.set(r.name, t)
    }
    return [...totals.values()].sort((a, b) => b.cost - a.cost || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }
  const spend = (rows: Array<{ requests: number; cost: number }>) => ({
    requests: rows.reduce((n, r) => n + r.requests, 0),
    cost: microsToUsd(rows.reduce((n, r) => n + r.cost, 0)),
  })
  const asUsd = (r: { name: string; requests: number; cost: number }) => ({ ...r, cost: microsToUsd(r.cost) })

  return new Elysia({ name: 'admin-overview' })
    .get(
      '/v1/usage/overview',
      async ({ query, request }) => {
        await ledger.flush()
        const now = Date.now()
        const month = startOfMonth(now)
        const today = dayNumber(now)
        const [holds, byModel, byUser] = await Promise.all([
          records.run('openHolds', undefined, request.signal),
          perDay('model', dayNumber(month), today, query.top, {}, request.signal),
          perDay('user', dayNumber(month), today, query.top, {}, request.signal),
        ])
        return {
          today: spend(byModel.filter((r) => r.day === today)),
          month: { since: new Date(month).toISOString(), ...spend(byModel) },
          open_holds: { count: holds.count, amount: microsToUsd(holds.amount) },
          top_users: ranked(byUser).slice(0, query.top).map(asUsd),
          top_models: ranked(byModel).slice(0, query.top).map(asUsd),
        }
      },
      {
        query: strictQuery({ top: decimalInteger(1, 100).prefault(5) }),
        detail: { tags: ['usage'], summary: 'Spend today and this calendar month (UTC), open holds, and the top users and models this month' },
      },
    )
    .get(
      '/v1/usage/daily',
      async ({ query, request }) => {
        await ledger.flush()
        const until = query.until ?? Date.now()
        // `until` is excluded: at a UTC midnight, the last of the `days` is the day before it.
        const since = query.since ?? startOfDay(until - 1) - (query.days - 1) * DAY_MS
        // Every day of the range is a point built on the request thread: a mistyped year must not stall the gateway.
        if (dayNumber(until - 1) - dayNumber(since) >= MAX_DAYS) throw badRequest(`since and until span more than ${MAX_DAYS} UTC days; ask for a year at most.`)
        // One point per UTC day; a day the filter's since or until cuts through counts only its rows in the range.
        const rows = await perDay(query.by, dayNumber(since), dayNumber(until - 1), MAX_SERIES, query, request.signal)
        const days = daysBetween(since, until)
        const named = ranked(rows).slice(0, MAX_SERIES).map((r) => r.name)
        const index = new Map(days.map((d, i) => [d, i]))
        const series = new Map(named.map((name) => [name, new Array<number>(days.length).fill(0)]))
        let other: number[] | undefined
        for (const r of rows) {
          const i = index.get(dayOf(r.day * DAY_MS))
          if (i === undefined) continue
          const values = (r.name !== null && series.get(r.name)) || (other ??= new Array<number>(days.length).fill(0))
          values[i]! += r.cost
        }
        return {
          by: query.by,
          days,
          series: [
            ...[...series].map(([name, values]) => ({ name, cost: values.map(microsToUsd) })),
            ...(other ? [{ name: 'other', other: true, cost: other.map(microsToUsd) }] : []),
          ],
        }
      },
      {
        query: strictQuery({
          ...usageFilters,
          by: z.enum(['model', 'user']).default('model'),
          days: decimalInteger(1, MAX_DAYS).prefault(30).describe('how many UTC days up to until (excluded) or now, when since is not given'),
        }),
        detail: {
          tags: ['usage'],
          summary: `Spend per UTC day, one series per model or user (the ${MAX_SERIES} dearest; the rest as "other"), under the usage filters`,
        },
      },
    )
    .get(
      '/v1/audit/refusals',
      async ({ query, request }) => {
        await store.flush()
        const until = Date.now()
        const since = startOfDay(until) - (query.days - 1) * DAY_MS
        const rows = await records.run('refusalsPerDay', { since, until: until + DAY_MS }, request.signal)
        const days = daysBetween(since, until)
        const series = Object.fromEntries(REFUSAL_KINDS.map((k) => [k, new Array<number>(days.length).fill(0)])) as Record<RefusalKind, number[]>
        const codes: Record<string, number> = {}
        for (const r of rows) {
          const i = r.day - dayNumber(since)
          if (i < 0 || i >= days.length) continue
          const kind = refusalKind(r.code)
          if (kind) series[kind][i]! += r.count
          codes[r.code] = (codes[r.code] ?? 0) + r.count
        }
        return { days, series, codes }
      },
      {
        query: strictQuery({ days: decimalInteger(1, 366).prefault(14) }),
        detail: {
          tags: ['audit'],
          summary: "Refusals per UTC day: the gateway's 402 budget, 402 pricing, 403 and 429, a provider's own 402 and 429 apart (upstream), with the total per error code",
        },
      },
    )
    .get(
      '/v1/pricing/unpriced',
      async ({ query }) => {
        await store.flush()
        const rows = await db.select().from(unpricedModels).orderBy(desc(unpricedModels.lastSeenAt))
        // As the database has the prices, not this process's cache: a model just priced through another replica is priced.
        const priced = new Set((await prices.storedPrices()).map((p) => p.model))
        const data = rows
          .map((r) => ({
            model: r.model,
            requests: r.requests,
            first_seen: new Date(r.firstSeenAt).toISOString(),
            last_seen: new Date(r.lastSeenAt).toISOString(),
            priced: priced.has(r.model),
          }))
          .filter((r) => query.include_priced || !r.priced)
        return { data }
      },
      {
        query: strictQuery({ include_priced: z.enum(['true', 'false']).transform((v) => v === 'true').optional() }),
        detail: {
          tags: ['pricing'],
          summary: 'Models of configured providers that were asked for with no price (402 pricing_required), most recent first',
          description: 'A bounded record (at most 500 models): names are the client\'s, so new ones are not added past that.',
        },
      },
    )
    .delete(
      '/v1/pricing/unpriced',
      async ({ query }) => {
        if ((query.model === undefined) === (query.all === undefined)) throw badRequest('Give model (one record) or all=true (every record), not both.')
        // Queued sightings first: written after the delete, they would bring a name back at once.
        await store.flush()
        const deleted = await store.write((db) =>
          (query.model === undefined ? db.delete(unpricedModels) : db.delete(unpricedModels).where(eq(unpricedModels.model, query.model)))
            .returning({ model: unpricedModels.model }),
        )
        if (query.model !== undefined && deleted.length === 0) throw notFound(`No unpriced-model record for ${JSON.stringify(query.model)}.`, 'unpriced_model_not_found')
        return { deleted: deleted.length }
      },
      {
        query: strictQuery({
          model: filterText.max(1000).optional().describe('the name exactly as GET /v1/pricing/unpriced shows it'),
          all: z.literal('true').optional().describe('every record'),
        }),
        detail: {
          tags: ['pricing'],
          summary: 'Forget unpriced models asked for (one, or all=true): a name a key holder chose that no price is meant for. Asked for again, it is recorded again',
        },
      },
    )
}
