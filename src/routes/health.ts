import { Elysia } from 'elysia'
import type { Store } from '../store/store'

/** 200 when the database answers a query, 503 otherwise. No details: this route is public. */
export const healthRoutes = (store: Pick<Store, 'ping'>) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    async () => {
      try {
        await store.ping()
        return Response.json({ status: 'ok' })
      } catch {
        return Response.json({ status: 'unavailable' }, { status: 503 })
      }
    },
    { detail: { tags: ['health'], summary: 'Liveness and database check (no credential needed)' } },
  )
