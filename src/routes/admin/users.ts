import { eq } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { z } from 'zod'
import { budgetUsd } from '../../pricing/price-amounts'
import { microsToUsd, optionalMicrosToUsd, optionalUsdToMicros } from '../../budget/money'
import { currentPeriod, periodStart, shownPeriodStart } from '../../budget/period'
import { budgetLeft } from '../../budget/remaining'
import type { users } from '../../db/schema'
import { conflict, GatewayError, notFound } from '../../http/errors'
import { switchIdleTimeoutOff } from '../../http/idle-timeout'
import type { Services } from '../../services'
import { forgettingChange } from '../../store/late-write'
import { pageQuery, toPage } from './pagination'
import { strictQuery } from './strict-query'

type UserRow = typeof users.$inferSelect

// Not `.` or `..`: in a path those are dot segments, which URL parsers remove (`/v1/users/..` is `/v1/`), so such a
// user could never be addressed to block, change or delete it, and `/v1/users/../usage` would be everyone's usage.
const userId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9@._+:-]+$/, 'use letters, digits and @ . _ + : -')
  .refine((id) => id !== '.' && id !== '..', 'cannot be "." or "..": a path cannot name it')
const usd = budgetUsd
const period = z.enum(['daily', 'weekly', 'monthly'])

// Strict: a misspelt field (say `max_budjet`) must not quietly create a user with no budget.
const createUser = z
  .object({
    id: userId,
    alias: z.string().max(200).nullable().optional(),
    max_budget: usd.nullable().optional(),
    budget_period: period.nullable().optional(),
    blocked: z.boolean().optional(),
  })
  .strict()
const updateUser = createUser.omit({ id: true })

/**
 * A user's figures as of `now`: when its budget period has ended but no request has rolled it yet, the
 * spend shown is already the new period's (zero).
 */
export function presentUser(row: UserRow, now = Date.now()) {
  const { start, spend } = currentPeriod(row.budgetPeriod, row.periodStart, row.spend, now)
  return {
    id: row.id,
    alias: row.alias,
    max_budget: optionalMicrosToUsd(row.maxBudget),
    budget_period: row.budgetPeriod,
    spend: microsToUsd(spend),
    reserved: microsToUsd(row.reserved),
    remaining: row.maxBudget === null ? null : microsToUsd(budgetLeft(row.maxBudget, spend, row.reserved)),
    period_start: shownPeriodStart(row.budgetPeriod, start),
    blocked: row.blocked,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
  }
}

export const userRoutes = (services: Services) => {
  const { ledger, keys, alerts, store, records } = services
  const { db, tables: { users, usage, reservations } } = store
  // A hold of 0 (a free model) raises no `reserved`: its row is what says the user has a request in flight.
  const holdsOf = (userId: string) => db.select({ id: reservations.id }).from(reservations).where(eq(reservations.userId, userId))
  const find = async (id: string) => {
    // Pending settlements are written first, so what is shown includes every finished request.
    await ledger.flush()
    const [row] = await db.select().from(users).where(eq(users.id, id))
    if (!row) throw notFound(`No user with id ${JSON.stringify(id)}.`, 'user_not_found')
    return row
  }

  return new Elysia({ name: 'admin-users' })
    .post(
      '/v1/users',
      async ({ body, set }) => {
        // An id is never given to a second user while the first one's usage rows (or a request still in
        // flight, whose row is to come) keep it: they would become the new user's records (its usage, its
        // totals) though its spend starts at 0.
        await ledger.flush()
        const exists = conflict(`A user with id ${JSON.stringify(body.id)} already exists.`)
        if ((await db.select({ id: users.id }).from(users).where(eq(users.id, body.id)).limit(1)).length > 0) throw exists
        const keptBy = await Promise.all([db.select({ id: usage.id }).from(usage).where(eq(usage.userId, body.id)).limit(1), holdsOf(body.id).limit(1)])
        if (keptBy.some((rows) => rows.length > 0))
          throw new GatewayError(409, 'user_id_used', `The id ${JSON.stringify(body.id)} belonged to a deleted user whose usage rows keep it; choose another id.`)
        const now = Date.now()
        const maxBudget = optionalUsdToMicros(body.max_budget) ?? null
        const budgetPeriod = body.budget_period ?? null
        const [row] = await store.write((db) =>
          db
            .insert(users)
            .values({
              id: body.id,
              alias: body.alias ?? null,
              maxBudget,
              // The budget's alerts are named by when it was set (src/alerts/watch.ts): a budget as created is set
              // now, so a later user given this id once it is free is not taken for this one, whose alerts stay.
              budgetSetAt: maxBudget === null ? null : now,
              budgetPeriod,
              periodStart: periodStart(budgetPeriod, now),
              blocked: body.blocked ?? false,
              createdAt: now,
              updatedAt: now,
            })
            .onConflictDoNothing()
            .returning(),
        )
        if (!row) throw exists
        set.status = 201
        return presentUser(row, now)
      },
      { body: createUser, parse: 'json', detail: { tags: ['users'], summary: 'Create a user (the billing identity)' } },
    )
    .get(
      '/v1/users',
      async ({ query }) => {
        await ledger.flush()
        const rows = await records.run('userRows', { cursor: query.cursor, limit: query.limit + 1, offset: query.offset ?? 0 })
        const now = Date.now()
        return toPage(rows, query.limit, (r) => presentUser(r, now), (r) => r.id)
      },
      { query: strictQuery(pageQuery), detail: { tags: ['users'], summary: 'List users' } },
    )
    .get('/v1/users/:id', async ({ params }) => presentUser(await find(params.id)), {
      params: z.object({ id: z.string() }),
      detail: { tags: ['users'], summary: 'Get a user with its spend and open holds' },
    })
    .patch(
      '/v1/users/:id',
      async ({ params, body }) => {
        // Pending settlements are written first, so what is shown, and a new period's spend, include every
        // finished request.
        await ledger.flush()
        const now = Date.now()
        const changes: Partial<UserRow> = { updatedAt: now }
        if (body.alias !== undefined) changes.alias = body.alias
        if (body.max_budget !== undefined) changes.maxBudget = optionalUsdToMicros(body.max_budget) ?? null
        if (body.blocked !== undefined) changes.blocked = body.blocked
        // Whether it changes the kind of period is the store's to judge, against the row under the update's lock
        // (newPeriodKind): a row read here may be a racing PATCH's before it committed.
        if (body.budget_period !== undefined) changes.budgetPeriod = body.budget_period
        // user_blocked is written with the block, in its transaction (see Alerts.userBlocked); judged by the update,
        // not by a row read before it: of concurrent PATCHes blocking the user, one alerts.
        const updated = await store.updateUser(params.id, changes, (row) => alerts.userBlocked(row.id, now), now)
        if (!updated) throw notFound(`No user with id ${JSON.stringify(params.id)}.`, 'user_not_found')
        const { row, wasBlocked } = updated
        if (row.blocked && !wasBlocked) alerts.deliver()
        return presentUser(row, now)
      },
      {
        params: z.object({ id: z.string() }),
        body: updateUser,
        parse: 'json',
        detail: { tags: ['users'], summary: 'Change alias, budget, period or blocked' },
      },
    )
    .delete(
      '/v1/users/:id',
      async ({ params, request, server }) => {
        // A user with a million keys takes longer than the idle timeout to delete, a batch at a time.
        switchIdleTimeoutOff(request, server)
        const inFlight = conflict('This user has requests in flight; try again when they finish.')
        const row = await find(params.id)
        if (row.reserved > 0) throw inFlight
        // Its keys go with it (a batch at a time); usage and log rows keep the id as history. Every process
        // forgets them whether the delete was answered or not (forgettingChange).
        const deleted = await forgettingChange(() => store.deleteUser(params.id), () => keys.invalidateUser(params.id))
        if (!deleted) {
          // Not deleted: a request in flight, or another process deleted it first (then a 404).
          await find(params.id)
          throw inFlight
        }
        return { id: params.id, deleted: true }
      },
      { params: z.object({ id: z.string() }), detail: { tags: ['users'], summary: 'Delete a user and its keys' } },
    )
}
