import { Elysia } from 'elysia'
import { microsToUsd, optionalMicrosToUsd } from '../budget/money'
import { budgetLeft } from '../budget/remaining'
import { badRequest } from '../http/errors'
import { authenticated, requestState } from '../http/request-state'
import { liveKeyRows } from '../keys/live-key'
import type { Services } from '../services'
import { OpaqueRowIds } from '../records/opaque-row-ids'
import { cursorNotReturned, pageQuery } from './admin/pagination'
import { oneUsersFilters, usageReader } from './admin/records'
import { presentUser } from './admin/users'
import { strictQuery } from './admin/strict-query'
import { takesConsoleSession } from './session-security'

const { key_id: _everyKey, ...ownFilters } = oneUsersFilters

const MASTER_KEY_REFUSED = 'The master key (or an admin console session) has no key of its own: 400 `not_a_virtual_key`.'

/**
 * A key sees itself (issue 13, item 6; the console's self-service view): its own limits, its user's
 * budget and its own usage, with the key as bearer or from its console session. Nothing about other keys
 * or users; the master key has no key of its own to show.
 */
export const keySelfRoutes = (services: Services) => {
  const { ledger } = services
  const reader = usageReader(services)
  // A usage row's id numbers every user's requests: the key's view shows it, and pages by it, sealed.
  const rowIds = new OpaqueRowIds(services.config.master_key, 'key usage rows')
  /**
   * The calling key and its user as the database has them now, after the queued settlements: a key the cache
   * still trusts (within its TTL) but that is gone, revoked or expired is refused 401 here, before its row or
   * its usage is shown.
   */
  const callingKey = async (request: Request) => {
    const caller = authenticated(requestState(request))
    if (caller.kind !== 'key') throw badRequest('This route shows the calling virtual key; the master key has none.', 'not_a_virtual_key')
    await ledger.flush()
    return { caller, ...(await liveKeyRows(services.store, caller)) }
  }

  return takesConsoleSession(
    new Elysia({ name: 'key-self' })
      .get(
        '/v1/key',
        async ({ request }) => {
          const { key, user } = await callingKey(request)
          const { id, alias, max_budget, budget_period, spend, reserved, remaining, period_start, blocked } = presentUser(user)
          return {
            id: key.id,
            name: key.name,
            key_prefix: key.keyPrefix,
            expires_at: key.expiresAt === null ? null : new Date(key.expiresAt).toISOString(),
            allowed_models: key.allowedModels,
            rpm_limit: key.rpmLimit,
            user_field: key.userField,
            clamp_output: key.clampOutput,
            max_budget: optionalMicrosToUsd(key.maxBudget),
            spend: microsToUsd(key.spend),
            reserved: microsToUsd(key.reserved),
            remaining: key.maxBudget === null ? null : microsToUsd(budgetLeft(key.maxBudget, key.spend, key.reserved)),
            user: { id, alias, max_budget, budget_period, spend, reserved, remaining, period_start, blocked },
          }
        },
        {
          detail: {
            tags: ['self-service'],
            summary: "The calling key: its name, limits, allowed models, user-field and clamp settings, and its user's budget, period, spend, reserved and remaining",
            description: `Any virtual key (as bearer, or its console session). Its spend is the key's own; its budget, when it has one, a ceiling under its user's. ${MASTER_KEY_REFUSED}`,
          },
        },
      )
      .get(
        '/v1/key/usage',
        async ({ request, query }) => {
          const { caller } = await callingKey(request)
          const after = query.cursor === undefined ? undefined : rowIds.reveal(query.cursor)
          if (query.cursor !== undefined && after === undefined) throw cursorNotReturned()
          const page = await reader.pageWithTotals({ ...query, cursor: after === undefined ? undefined : String(after), key_id: caller.keyId }, request.signal)
          return {
            ...page,
            data: page.data.map((row) => ({ ...row, id: rowIds.hide(row.id) })),
            next_cursor: page.next_cursor === null ? null : rowIds.hide(Number(page.next_cursor)),
          }
        },
        {
          query: strictQuery({ ...pageQuery, ...ownFilters }),
          detail: {
            tags: ['self-service'],
            summary: "The calling key's own usage rows, newest first, with totals",
            description:
              'Any virtual key (as bearer, or its console session). A row\'s `id` (and the `cursor`) is opaque: the usage table numbers ' +
              `every user's requests, which a key's view does not tell. ${MASTER_KEY_REFUSED}`,
          },
        },
      ),
  )
}
