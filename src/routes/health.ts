import { Elysia } from 'elysia'
import type { Services } from '../services'
import { DatabaseTakesNoWrites } from '../store/read-only'

/**
 * 200 when the database (the store: SQLite or Postgres) answers a query and takes writes, 503 otherwise, saying
 * why when it answers but takes none (every hold would be refused): `database: read_only`, or for SQLite's file
 * `full` or `io_error` (its last commit failed so, until one lands), or `replaced` (the file was replaced under the
 * running gateway, until it is restarted). With Redis
 * configured the answer says whether this process reaches it (`redis: up | down`) and which failure mode
 * applies, `redis_changes: down` while Redis is up but this process does not hear other replicas' changes (its
 * subscription failed: they reach it after the cache TTL), and `redis_error: authentication_failed` when Redis
 * refuses tollgate's credentials or rights, or why it refuses writes (`out_of_memory`, `misconf`, `no_replicas`,
 * `busy`) while it does; Redis down is a 503 only in the `closed` mode, where this process
 * refuses every request it would rate-limit. No other details: this route is public.
 */
export const healthRoutes = ({ store, redis, changes, config }: Pick<Services, 'store' | 'redis' | 'changes' | 'config'>) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    async () => {
      const up = redis?.up
      const deaf = up && changes !== null && !changes.listening
      // A Redis that refuses tollgate's credentials wants its password or ACL fixed, one that refuses writes its
      // memory or settings: not the network looked at.
      const error = up ? (deaf && changes!.refused ? 'authentication_failed' : undefined) : redis?.downReason === 'unreachable' ? undefined : redis?.downReason
      const shared = redis && {
        redis: up ? 'up' : 'down',
        ...(deaf && { redis_changes: 'down' }),
        ...(error && { redis_error: error }),
        redis_failure: config.redis_failure,
      }
      try {
        await store.ping()
      } catch (error) {
        const database = error instanceof DatabaseTakesNoWrites ? { database: error.reason } : {}
        return Response.json({ status: 'unavailable', ...database, ...shared }, { status: 503 })
      }
      if (shared?.redis === 'down' && config.redis_failure === 'closed') return Response.json({ status: 'unavailable', ...shared }, { status: 503 })
      return Response.json({ status: 'ok', ...shared })
    },
    { detail: { tags: ['health'], summary: 'Liveness, database and Redis check (no credential needed)', security: [] } },
  )
