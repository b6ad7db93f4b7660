import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm'
import type { RecordsSource } from './usage-queries'

/** The alert list's filters and page, as GET /v1/alerts takes them (validated by the route). */
interface AlertListArgs {
  kind?: string
  status?: 'pending' | 'delivered' | 'failed'
  /** After this alert, newest first (a cursor): `offset` is then not used. */
  after?: { createdAt: number; id: string }
  limit: number
  offset: number
}

/**
 * Alerts newest first, with their deliveries: a records query (src/records/usage-queries.ts), run where the
 * others are, off the request thread: every crossing of every threshold is kept for the audit retention, a
 * million rows on a large install, and a filter or an offset can step over all of them.
 */
export async function alertRows({ db, tables: { alerts, alertDeliveries } }: RecordsSource, q: AlertListArgs) {
  const withStatus = q.status
    ? inArray(alerts.id, db.select({ id: alertDeliveries.alertId }).from(alertDeliveries).where(eq(alertDeliveries.status, q.status)))
    : undefined
  const after = q.after && or(lt(alerts.createdAt, q.after.createdAt), and(eq(alerts.createdAt, q.after.createdAt), lt(alerts.id, q.after.id)))
  const rows = await db
    .select()
    .from(alerts)
    .where(and(q.kind ? eq(alerts.kind, q.kind) : undefined, withStatus, after))
    .orderBy(desc(alerts.createdAt), desc(alerts.id))
    .limit(q.limit)
    .offset(q.after ? 0 : q.offset)
  const deliveries = rows.length ? await db.select().from(alertDeliveries).where(inArray(alertDeliveries.alertId, rows.map((r) => r.id))) : []
  return { rows, deliveries }
}

/**
 * The alert deliveries pending and failed, every process's (the /metrics gauges): a records query, off the request
 * thread, as each count walks every index entry of its status: failed deliveries are kept until their alert is
 * pruned, and a webhook down for a while on an install raising many alerts leaves a million of them.
 */
export async function alertDeliveryCounts({ db, tables: { alertDeliveries } }: RecordsSource) {
  const count = async (status: 'pending' | 'failed') =>
    Number((await db.select({ n: sql<number>`count(*)` }).from(alertDeliveries).where(eq(alertDeliveries.status, status)))[0]!.n)
  return { pending: await count('pending'), failed: await count('failed') }
}
