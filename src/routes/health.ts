import { Elysia } from 'elysia'
import type { Db } from '../db/open'

/**
 * 200 when the database answers a query, 503 otherwise. No details: this route is public. The probe is
 * prepared on every call: a statement prepared once keeps answering even after its database is closed.
 */
export const healthRoutes = (db: Db) =>
  new Elysia({ name: 'health' }).get(
    '/health',
    () => {
      try {
        const probe = db.$client.prepare('SELECT 1 AS ok')
        probe.get()
        probe.finalize()
        return Response.json({ status: 'ok' })
      } catch {
        return Response.json({ status: 'unavailable' }, { status: 503 })
      }
    },
    { detail: { tags: ['health'], summary: 'Liveness and database check (no credential needed)' } },
  )
