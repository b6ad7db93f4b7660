import { Elysia } from 'elysia'
import { z } from 'zod'
import { badRequest, notFound } from '../../http/errors'
import type { Services } from '../../services'
import { pageQuery, toPage } from './pagination'
import { strictQuery } from './strict-query'

const KINDS = ['budget_threshold', 'key_expiring', 'user_blocked', 'key_revoked', 'holds_expired', 'unpriced_model'] as const
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString())

/** Alerts newest first, each with its deliveries: what was raised, and whether every webhook got it. */
export const alertRoutes = ({ store, alerts: service }: Services) => {
  const cursorOf = (a: { createdAt: number; id: string }) => `${a.createdAt}.${a.id}`
  const afterCursor = (cursor: string | undefined) => {
    if (cursor === undefined) return undefined
    const m = /^(\d+)\.(alt_[0-9a-f]{32})$/.exec(cursor)
    if (!m) throw badRequest('Invalid query: cursor: is not one this API returned')
    return { createdAt: Number(m[1]), id: m[2]! }
  }

  return new Elysia({ name: 'admin-alerts' })
    .get(
      '/v1/alerts',
      async ({ query, request }) => {
        const { rows, deliveries } = await store.records.run('alertRows', {
          kind: query.kind,
          status: query.status,
          after: afterCursor(query.cursor),
          limit: query.limit + 1,
          offset: query.offset ?? 0,
        }, request.signal)
        return toPage(
          rows,
          query.limit,
          (a) => {
            const { text, data } = JSON.parse(a.payload)
            return {
              id: a.id,
              kind: a.kind,
              subject: a.subject,
              created_at: iso(a.createdAt),
              text,
              data,
              deliveries: deliveries
                .filter((d) => d.alertId === a.id)
                .map((d) => ({
                  webhook: d.webhook,
                  status: d.status,
                  attempts: d.attempts,
                  next_attempt_at: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
                  last_error: d.lastError,
                  delivered_at: iso(d.deliveredAt),
                })),
            }
          },
          cursorOf,
        )
      },
      {
        query: strictQuery({ ...pageQuery, kind: z.enum(KINDS).optional(), status: z.enum(['pending', 'delivered', 'failed']).optional() }),
        detail: {
          tags: ['alerts'],
          summary: 'Alerts raised, newest first, with the state of their delivery to each configured webhook',
          description: 'Budget thresholds crossed, keys expiring, users blocked, keys revoked, expired holds charged by the sweeper, unpriced models refused. Webhook targets are configuration only.',
        },
      },
    )
    .post(
      '/v1/alerts/:id/redeliver',
      async ({ params }) => {
        if (!(await service.outbox.exists(params.id))) throw notFound(`No alert with id ${JSON.stringify(params.id)}.`, 'alert_not_found')
        return { id: params.id, redelivering: await service.redeliver(params.id) }
      },
      {
        params: z.object({ id: z.string().max(64) }),
        detail: { tags: ['alerts'], summary: 'Send an alert again to every webhook whose delivery failed for good' },
      },
    )
}
