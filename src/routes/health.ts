import { Elysia } from 'elysia'
import type { Services } from '../services'
import { DatabaseReadOnly } from '../store/read-only'

/**
 * 200 when the database (the store: SQLite or Postgres) answers a query and takes writes, 503 otherwise, saying
 * `database: read_only` when it answers but takes none (every hold would be refused). With Redis
 * configured the answer says whether this process reaches it (`redis: up | down`) and which failure mode
 * applies, and `redis_error: authentication_failed` when Redis refuses tollgate's credentials; Redis down is a 503
 * only in the `closed` mode, where this process refuses every request it would rate-limit. No other details: this
 * route is public.
 */
export const healthRoutes = ({ store, redis, config }: Pick<Services, 'store' | 'redis' | 'config'>) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    async () => {
      const shared = redis && {
        redis: redis.up ? 'up' : 'down',
        // A Redis that refuses tollgate's credentials wants its password fixed, not the network looked at.
        ...(!redis.up && redis.downReason === 'authentication_failed' && { redis_error: 'authentication_failed' }),
        redis_failure: config.redis_failure,
      }
      try {
        await store.ping()
      } catch (error) {
        const database = error instanceof DatabaseReadOnly ? { database: 'read_only' } : {}
        return Response.json({ status: 'unavailable', ...database, ...shared }, { status: 503 })
      }
      if (shared?.redis === 'down' && config.redis_failure === 'closed') return Response.json({ status: 'unavailable', ...shared }, { status: 503 })
      return Response.json({ status: 'ok', ...shared })
    },
    { detail: { tags: ['health'], summary: 'Liveness, database and Redis check (no credential needed)', security: [] } },
  )
