import { and, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { microsToUsd } from '../../budget/money'
import type { usage } from '../../db/schema'
import { notFound } from '../../http/errors'
import { refusalSource } from '../../records/request-log'
import type { Services } from '../../services'
import { idCursor, pageQuery, toPage } from './pagination'
import { strictQuery } from './strict-query'
import { summaryCursor, type SummaryKey } from './summary-cursor'

const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))
const timeRange = { since: time.optional(), until: time.optional() }
const iso = (ms: number) => new Date(ms).toISOString()

/** The filters of one user's usage; the other lists add `user_id`. */
export const oneUsersFilters = {
  ...timeRange,
  key_id: z.string().optional(),
  model: z.string().optional().describe('provider:model, provider/model or an alias'),
  status: z.enum(['ok', 'error', 'aborted', 'expired']).optional(),
}
export const usageFilters = { ...oneUsersFilters, user_id: z.string().optional() }
const usageQuery = strictQuery({ ...pageQuery, ...usageFilters })
export type UsageFilters = Partial<z.infer<typeof usageQuery>>
type UsageQuery = z.infer<typeof usageQuery>

/** The summary's cursor names a group (day, user, model), which may be longer than an id. */
const summaryQuery = strictQuery({ ...pageQuery, cursor: z.string().max(2000).optional(), ...usageFilters })

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

/**
 * Usage rows and their totals under the usage filters: the admin lists and a key's own view read them
 * the same way. Usage rows name models `provider:model`; a filter may name one as a client would call it.
 */
export function usageReader({ store, ledger, providers }: Pick<Services, 'store' | 'ledger' | 'providers'>) {
  const { db, tables: { usage } } = store
  const usageFilter = (q: UsageFilters): SQL | undefined =>
    and(
      q.user_id ? eq(usage.userId, q.user_id) : undefined,
      q.key_id ? eq(usage.keyId, q.key_id) : undefined,
      q.model ? eq(usage.model, providers.canonicalName(q.model)) : undefined,
      q.status ? eq(usage.status, q.status) : undefined,
      q.since !== undefined ? gte(usage.createdAt, q.since) : undefined,
      q.until !== undefined ? lt(usage.createdAt, q.until) : undefined,
    )

  const listUsage = async (q: UsageQuery) => {
    await ledger.flush()
    const after = idCursor(q.cursor)
    const rows = await db
      .select()
      .from(usage)
      .where(and(usageFilter(q), after !== undefined ? lt(usage.id, after) : undefined))
      .orderBy(desc(usage.id))
      .limit(q.limit + 1)
      .offset(after !== undefined ? 0 : (q.offset ?? 0))
    return toPage(rows, q.limit, presentUsage, (r) => String(r.id))
  }

  // Sums are read back as numbers: Postgres answers a bigint sum as numeric (text).
  const totals = async (q: UsageFilters) => {
    const [t] = await db
      .select({
        requests: sql<number>`count(*)`,
        prompt_tokens: sql<number>`coalesce(sum(${usage.promptTokens}), 0)`,
        completion_tokens: sql<number>`coalesce(sum(${usage.completionTokens}), 0)`,
        cached_tokens: sql<number>`coalesce(sum(${usage.cachedTokens}), 0)`,
        cost: sql<number>`coalesce(sum(${usage.cost}), 0)`,
      })
      .from(usage)
      .where(usageFilter(q))
    return {
      requests: Number(t!.requests), prompt_tokens: Number(t!.prompt_tokens), completion_tokens: Number(t!.completion_tokens),
      cached_tokens: Number(t!.cached_tokens), cost: microsToUsd(Number(t!.cost)),
    }
  }
  return { usageFilter, listUsage, totals }
}

const CSV_PAGE = 1000
/** The header: the same fields as the JSON rows, taken from an empty row so that the two cannot drift. */
const CSV_COLUMNS = Object.keys(
  presentUsage({
    id: 0, requestId: '', createdAt: 0, userId: '', keyId: null, model: '', provider: '', endpoint: '', promptTokens: 0,
    completionTokens: 0, cachedTokens: 0, cost: 0, reserved: 0, priceId: null, status: 'ok', latencyMs: 0, stream: false,
  }),
)

/**
 * One CSV line. A cell a spreadsheet would read as a formula (a user id or model name the client chose,
 * starting with = + - @) is prefixed with ' so that it stays text.
 */
function csvLine(row: Record<string, unknown>): string {
  return (
    Object.values(row)
      .map((v) => {
        let cell = v === null || v === undefined ? '' : String(v)
        if (typeof v === 'string' && /^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`
        return /[",\r\n']/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell
      })
      .join(',') + '\r\n'
  )
}

/** Usage rows, the usage summary and the API request log: what was spent, by whom, and who knocked. */
export const recordRoutes = (services: Services) => {
  const { ledger, requestLog } = services
  const { db, tables: { apiRequestLog, usage, users } } = services.store
  const { usageFilter, listUsage, totals } = usageReader(services)
  /** The UTC day of a usage row, as the summary groups it. */
  const usageDay = services.store.usageDay(usage.createdAt)
  /** Groups after `k` in the summary's order: day descending, then user and model ascending. */
  const afterGroup = (k: SummaryKey) =>
    or(lt(usageDay, k.day), and(eq(usageDay, k.day), or(gt(usage.userId, k.userId), and(eq(usage.userId, k.userId), gt(usage.model, k.model)))))

  return new Elysia({ name: 'admin-records' })
    .get('/v1/usage', ({ query }) => listUsage(query), {
      query: usageQuery,
      detail: { tags: ['usage'], summary: 'Usage rows, newest first (filters: user, key, model, time range)' },
    })
    .get(
      '/v1/usage/csv',
      async ({ query }) => {
        await ledger.flush()
        const filter = usageFilter(query)
        let after: number | undefined
        const encoder = new TextEncoder()
        // Streamed page by page (keyset on id), so an export of millions of rows is never held in memory.
        const body = new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(encoder.encode(CSV_COLUMNS.join(',') + '\r\n')),
          async pull(controller) {
            const rows = await db
              .select()
              .from(usage)
              .where(and(filter, after !== undefined ? lt(usage.id, after) : undefined))
              .orderBy(desc(usage.id))
              .limit(CSV_PAGE)
            if (rows.length > 0) {
              after = rows[rows.length - 1]!.id
              controller.enqueue(encoder.encode(rows.map((r) => csvLine(presentUsage(r))).join('')))
            }
            if (rows.length < CSV_PAGE) controller.close()
          },
        })
        return new Response(body, {
          headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="usage.csv"', 'cache-control': 'no-store' },
        })
      },
      {
        query: strictQuery(usageFilters),
        detail: { tags: ['usage'], summary: 'Usage rows as CSV, newest first, under the usage filters (streamed, every matching row)' },
      },
    )
    .get(
      '/v1/usage/summary',
      async ({ query }) => {
        await ledger.flush()
        const after = summaryCursor.decode(query.cursor)
        const rows = await db
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
          .where(and(usageFilter(query), after ? afterGroup(after) : undefined))
          .groupBy(usage.userId, usage.model, usageDay)
          .orderBy(desc(usageDay), usage.userId, usage.model)
          .limit(query.limit + 1)
          .offset(after ? 0 : (query.offset ?? 0))
        const page = toPage(rows, query.limit, (r) => ({
          ...r, requests: Number(r.requests), prompt_tokens: Number(r.prompt_tokens), completion_tokens: Number(r.completion_tokens),
          cached_tokens: Number(r.cached_tokens), cost: microsToUsd(Number(r.cost)),
        }), (r) =>
          summaryCursor.encode({ day: r.day, userId: r.user_id, model: r.model }),
        )
        return { ...page, totals: await totals(query) }
      },
      {
        query: summaryQuery,
        detail: {
          tags: ['usage'],
          summary: 'Totals by user, model and UTC day (paginated), with grand totals over every matching row',
        },
      },
    )
    .get(
      '/v1/users/:id/usage',
      async ({ params, query }) => {
        await ledger.flush()
        if ((await db.select({ id: users.id }).from(users).where(eq(users.id, params.id))).length === 0)
          throw notFound(`No user with id ${JSON.stringify(params.id)}.`, 'user_not_found')
        const filter = { ...query, user_id: params.id }
        return { ...(await listUsage(filter)), totals: await totals(filter) }
      },
      {
        params: z.object({ id: z.string() }),
        query: strictQuery({ ...pageQuery, ...oneUsersFilters }),
        detail: { tags: ['users', 'usage'], summary: "One user's usage rows and totals" },
      },
    )
    .get(
      '/v1/audit',
      async ({ query }) => {
        requestLog.sync()
        await ledger.flush()
        const after = idCursor(query.cursor)
        const rows = await db
          .select()
          .from(apiRequestLog)
          .where(
            and(
              query.key_id ? eq(apiRequestLog.keyId, query.key_id) : undefined,
              query.user_id ? eq(apiRequestLog.userId, query.user_id) : undefined,
              query.status !== undefined ? eq(apiRequestLog.status, query.status) : undefined,
              query.method ? eq(apiRequestLog.method, query.method.toUpperCase()) : undefined,
              query.route ? eq(apiRequestLog.route, query.route) : undefined,
              // An address also finds the refusals counted under its source (an IPv6 address's /64).
              query.client_ip ? inArray(apiRequestLog.clientIp, [query.client_ip, refusalSource(query.client_ip)!]) : undefined,
              query.since !== undefined ? gte(apiRequestLog.createdAt, query.since) : undefined,
              query.until !== undefined ? lte(apiRequestLog.createdAt, query.until) : undefined,
              after !== undefined ? lt(apiRequestLog.id, after) : undefined,
            ),
          )
          .orderBy(desc(apiRequestLog.id))
          .limit(query.limit + 1)
          .offset(after !== undefined ? 0 : (query.offset ?? 0))
        return toPage(
          rows,
          query.limit,
          (r) => ({
            id: r.id, created_at: iso(r.createdAt), request_id: r.requestId, method: r.method, route: r.route, status: r.status,
            latency_ms: r.latencyMs, client_ip: r.clientIp, key_id: r.keyId, user_id: r.userId,
            count: r.count, last_at: r.lastAt === null ? null : iso(r.lastAt),
          }),
          (r) => String(r.id),
        )
      },
      {
        query: strictQuery({
          ...pageQuery,
          ...timeRange,
          key_id: z.string().optional(),
          user_id: z.string().optional(),
          status: z.coerce.number().int().min(100).max(599).optional(),
          method: z.string().max(10).optional(),
          route: z.string().max(512).optional(),
          client_ip: z.string().max(64).optional(),
        }),
        detail: {
          tags: ['audit'],
          summary: 'The API request log, newest first: every /v1 request, refusals included',
          description:
            'A request with a key has a row of its own (`count` 1). Requests refused before any key was known are ' +
            'counted per source (an IPv4 address, or an IPv6 /64 written `prefix::/64`), route pattern, method and status, ' +
            'one row per minute: `count` requests from `created_at` (the first, whose id is `request_id`) to `last_at`.',
        },
      },
    )
}
