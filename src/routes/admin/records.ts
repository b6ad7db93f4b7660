import { eq } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { microsToUsd } from '../../budget/money'
import { clientAddress, clientSource } from '../../http/client-source'
import { notFound } from '../../http/errors'
import { knownMethod } from '../../http/route-patterns'
import { streamedAnswer } from '../../http/streamed-answer'
import type { usage } from '../../db/schema'
import { csvLine } from '../../records/csv-line'
import { isKeysLatestUsage, NO_USAGE_TOTALS, presentUsage, type UsageFilterValues } from '../../records/usage-queries'
import type { Services } from '../../services'
import { cursorNotReturned, cursorText, idCursor, pageQuery, toPage } from './pagination'
import { decimalInteger, filterText, strictQuery } from './strict-query'
import { summaryCursor } from './summary-cursor'

export { presentUsage }

const time = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))
const timeRange = {
  since: time.optional().describe('rows at or after this time'),
  until: time.optional().describe('rows before this time (a row at exactly until is not listed)'),
}
const iso = (ms: number) => new Date(ms).toISOString()

/**
 * The spellings of a client_ip filter in the request log: the address as the log keeps it (one spelling whatever the
 * filter's), the source its refusals before any key are counted under (an IPv6 address's /64), and the filter as
 * given (a row kept before addresses were written in one spelling, a source such as `2001:db8::/64`).
 */
function addressesMatching(ip: string): string[] {
  return [...new Set([ip, clientAddress(ip)!, clientSource(ip)!])]
}

/**
 * The spellings of a method filter in the request log: as a client sends it (a row with a key keeps the method it
 * came with) and as the refusals before any key are counted (`other` for a method the API does not answer).
 */
function methodsMatching(method: string): string[] {
  const sent = method.toUpperCase()
  return [...new Set([sent, knownMethod(sent)])]
}

/** The filters of one user's usage; the other lists add `user_id`. */
export const oneUsersFilters = {
  ...timeRange,
  key_id: filterText.optional(),
  model: filterText.optional().describe('provider:model, provider/model, an alias, or a bare id a default provider serves'),
  status: z.enum(['ok', 'error', 'aborted', 'expired']).optional(),
}
export const usageFilters = { ...oneUsersFilters, user_id: filterText.optional() }
const usageQuery = strictQuery({ ...pageQuery, ...usageFilters })
export type UsageFilters = Partial<z.infer<typeof usageQuery>>
type UsageQuery = z.infer<typeof usageQuery>

/** The summary's cursor names a group (day, user, model), which may be longer than an id. */
const summaryQuery = strictQuery({ ...pageQuery, cursor: cursorText.max(2000).optional(), ...usageFilters })

/**
 * Usage rows and their totals under the usage filters: the admin lists and a key's own view read them
 * the same way, through the records reader (off the request thread). Usage rows name models
 * `provider:model`; a filter may name one as a client would call it, a bare id included.
 */
export function usageReader({ ledger, providers, records }: Pick<Services, 'ledger' | 'providers' | 'records'>) {
  const filterValues = (q: UsageFilters): UsageFilterValues => ({
    user_id: q.user_id,
    key_id: q.key_id,
    models: q.model === undefined ? undefined : providers.canonicalNames(q.model),
    status: q.status,
    since: q.since,
    until: q.until,
  })

  /**
   * The page's filters and position. A cursor is the id of the last row a page of this query showed, so one naming
   * no row the filters list (0, an id past every row, another user's row, a cursor of another query's pages) is
   * refused rather than read as a position that answers an empty page or skips rows. Usage rows are never changed
   * or deleted: a row a page showed stays listed. `signal`: the request's, which aborts when its client hangs up.
   */
  const rowsQuery = async (q: UsageQuery, signal?: AbortSignal) => {
    const filter = filterValues(q)
    const after = idCursor(q.cursor)
    if (after !== undefined && !(await records.run('usageRowListed', { ...filter, id: after }, signal))) throw cursorNotReturned()
    return { ...filter, limit: q.limit, offset: q.offset, after }
  }
  const present = (rows: Array<typeof usage.$inferSelect>, q: UsageQuery) => toPage(rows, q.limit, presentUsage, (r) => String(r.id))

  const listUsage = async (q: UsageQuery, signal?: AbortSignal) => {
    await ledger.flush()
    return present(await records.run('usageRows', await rowsQuery(q, signal), signal), q)
  }

  /**
   * A list page and the totals of every row it filters, after one flush, as one records query: one snapshot,
   * so that a settlement committed while they are read is in both or in neither. One key's latest rows are a quick
   * read; any other page a scan.
   */
  const pageWithTotals = async (q: UsageQuery, signal?: AbortSignal) => {
    await ledger.flush()
    const page = await rowsQuery(q, signal)
    const { rows, totals } = isKeysLatestUsage(page)
      ? await records.run('keyUsagePage', page, signal)
      : await records.run('usageRowsAndTotals', page, signal)
    return { ...present(rows, q), totals }
  }

  /** pageWithTotals of a filter known to match no row: no usage is read (a cursor, naming no row it lists, is refused). */
  const noUsage = (q: UsageQuery) => {
    if (idCursor(q.cursor) !== undefined) throw cursorNotReturned()
    return { ...present([], q), totals: NO_USAGE_TOTALS }
  }
  return { filterValues, listUsage, pageWithTotals, noUsage }
}

const CSV_PAGE = 1000
/** The header: the same fields as the JSON rows, taken from an empty row so that the two cannot drift. */
const CSV_COLUMNS = Object.keys(
  presentUsage({
    id: 0, requestId: '', createdAt: 0, userId: '', keyId: null, model: '', provider: '', endpoint: '', promptTokens: 0,
    completionTokens: 0, cachedTokens: 0, cost: 0, reserved: 0, priceId: null, status: 'ok', latencyMs: 0, stream: false,
    cacheWriteTokens: 0, serverToolUses: null,
  }),
)

/** Usage rows, the usage summary and the API request log: what was spent, by whom, and who knocked. */
export const recordRoutes = (services: Services) => {
  const { ledger, requestLog, records } = services
  const { db, tables: { users, apiKeys, usage: usageRows } } = services.store
  const { filterValues, listUsage, pageWithTotals, noUsage } = usageReader(services)

  return new Elysia({ name: 'admin-records' })
    .get('/v1/usage', ({ query, request }) => listUsage(query, request.signal), {
      query: usageQuery,
      detail: { tags: ['usage'], summary: 'Usage rows, newest first (filters: user, key, model, time range)' },
    })
    .get(
      '/v1/usage/csv',
      async ({ query, request }) => {
        await ledger.flush()
        const filter = filterValues(query)
        let after: number | undefined
        const encoder = new TextEncoder()
        // usageRows reads one more than asked for: the page is the first CSV_PAGE, the extra one says more follow.
        const readPage = () => records.run('usageRows', { ...filter, limit: CSV_PAGE - 1, after }, request.signal)
        // The first page is read before the 200 goes out: a query the database refuses is an error answer,
        // not a download cut off after its header.
        let first: Awaited<ReturnType<typeof readPage>> | null = await readPage()
        const answered = streamedAnswer(request)
        // Streamed page by page (keyset on id), so an export of millions of rows is never held in memory.
        const body = new ReadableStream<Uint8Array>({
          start: (c) => c.enqueue(encoder.encode(CSV_COLUMNS.join(',') + '\r\n')),
          async pull(controller) {
            // A page the database refuses fails the body: that ends the answer too.
            const rows = first ?? (await readPage().catch((error) => {
              answered()
              throw error
            }))
            first = null
            if (rows.length > 0) {
              after = rows[rows.length - 1]!.id
              controller.enqueue(encoder.encode(rows.map((r) => csvLine(presentUsage(r))).join('')))
            }
            if (rows.length < CSV_PAGE) {
              answered()
              controller.close()
            }
          },
          cancel: answered,
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
      async ({ query, request }) => {
        await ledger.flush()
        const filter = filterValues(query)
        // A walk's pages, and their totals, read the usage as of its first page: see usageSummaryAndTotals.
        const position = summaryCursor.decode(query.cursor, filter)
        const { rows, totals, asOf } = await records.run(
          'usageSummaryAndTotals',
          { ...filter, limit: query.limit, offset: query.offset, after: position?.after, asOf: position?.asOf },
          request.signal,
        )
        const page = toPage(rows, query.limit, (r) => ({ ...r, cost: microsToUsd(r.cost) }), (r) =>
          summaryCursor.encode({ day: r.day, userId: r.user_id, model: r.model }, asOf),
        )
        return { ...page, totals }
      },
      {
        query: summaryQuery,
        detail: {
          tags: ['usage'],
          summary: 'Totals by user, model and UTC day (paginated), with grand totals over every matching row',
          description:
            'A walk by `cursor` is one snapshot: every later page, and its `totals`, read the usage as of the first page ' +
            '(the cursor carries its read point), so the groups of every page add up to the totals of each. A request ' +
            'settled meanwhile is in the next walk; on Postgres, one still committing as the first page is read (ids are ' +
            'taken at insert, not in commit order) may be counted in later totals while no page lists its group. ' +
            'A page read by `offset` reads the usage as it now is.',
        },
      },
    )
    .get(
      '/v1/users/:id/usage',
      async ({ params, query, request }) => {
        await ledger.flush()
        // A deleted user's rows stay under its id: they are listed as /v1/usage?user_id= lists them. Only an id with
        // neither a user nor a row is unknown.
        const userRow = () => db.select({ id: users.id }).from(users).where(eq(users.id, params.id)).limit(1)
        const usageRow = () => db.select({ id: usageRows.id }).from(usageRows).where(eq(usageRows.userId, params.id)).limit(1)
        if ((await userRow()).length === 0 && (await usageRow()).length === 0)
          throw notFound(`No user with id ${JSON.stringify(params.id)}, and no usage rows under it.`, 'user_not_found')
        // A key never changes user, so its rows are all its user's: the user's page of its own key is the key's latest
        // usage (a quick read), and of another user's key an empty page, found without a scan. A key deleted since is
        // left to the scan of the user's rows under it.
        if (query.key_id !== undefined) {
          const [key] = await db.select({ userId: apiKeys.userId }).from(apiKeys).where(eq(apiKeys.id, query.key_id)).limit(1)
          if (key?.userId === params.id) return pageWithTotals(query, request.signal)
          if (key) return noUsage(query)
        }
        return pageWithTotals({ ...query, user_id: params.id }, request.signal)
      },
      {
        params: z.object({ id: z.string() }),
        query: strictQuery({ ...pageQuery, ...oneUsersFilters }),
        detail: {
          tags: ['users', 'usage'],
          summary: "One user's usage rows and totals, a deleted user's included (404 for an id with neither a user nor rows)",
        },
      },
    )
    .get(
      '/v1/audit',
      async ({ query, request }) => {
        requestLog.sync()
        await services.store.flush()
        const rows = await records.run('auditRows', {
          key_id: query.key_id,
          user_id: query.user_id,
          status: query.status,
          methods: query.method !== undefined ? methodsMatching(query.method) : undefined,
          route: query.route,
          client_ips: query.client_ip !== undefined ? addressesMatching(query.client_ip) : undefined,
          since: query.since,
          until: query.until,
          limit: query.limit,
          offset: query.offset,
          after: idCursor(query.cursor),
        }, request.signal)
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
          key_id: filterText.optional(),
          user_id: filterText.optional(),
          status: decimalInteger(100, 599).optional(),
          method: filterText.max(10).optional(),
          route: filterText.max(512).optional(),
          client_ip: filterText.max(64).optional(),
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
