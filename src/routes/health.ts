import { Elysia } from 'elysia'
import type { Services } from '../services'

/**
 * 200 when the database answers a query, 503 otherwise. The probe is prepared on every call: a statement
 * prepared once keeps answering even after its database is closed. With Redis configured the answer says
 * whether this process reaches it (`redis: up | down`) and which failure mode applies; Redis down is a 503
 * only in the `closed` mode, where this process refuses every request it would rate-limit. No other
 * details: this route is public.
 */
export const healthRoutes = ({ db, redis, config }: Pick<Services, 'db' | 'redis' | 'config'>) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    () => {
      const shared = redis && { redis: redis.up ? 'up' : 'down', redis_failure: config.redis_failure }
      try {
        const probe = db.$client.prepare('SELECT 1 AS ok')
        probe.get()
        probe.finalize()
      } catch {
        return Response.json({ status: 'unavailable', ...shared }, { status: 503 })
      }
      if (shared?.redis === 'down' && config.redis_failure === 'closed') return Response.json({ status: 'unavailable', ...shared }, { status: 503 })
      return Response.json({ status: 'ok', ...shared })
    },
    { detail: { tags: ['health'], summary: 'Liveness, database and Redis check (no credential needed)' } },
  )
