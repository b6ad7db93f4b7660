import { Elysia } from 'elysia'
import type { Db } from '../db/open'

/** 200 when the database answers a query, 503 otherwise. No details: this route is public. */
export const healthRoutes = (db: Db) => {
  const ping = db.$client.prepare('SELECT 1 AS ok')
  return new Elysia({ name: 'health' }).get(
    '/health',
    () => {
      try {
        ping.get()
        return Response.json({ status: 'ok' })
      } catch {
        return Response.json({ status: 'unavailable' }, { status: 503 })
      }
    },
    { detail: { tags: ['health'], summary: 'Liveness and database check (no credential needed)' } },
  )
}
