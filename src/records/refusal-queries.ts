import { and, gte, lt, sql } from 'drizzle-orm'
import type { RecordsSource } from './usage-queries'

const DAY_MS = 86_400_000

/**
 * Refusals per UTC day (its number: unix ms / 86,400,000) and error code, of the hours from `since` to `until`
 * (unix ms, exclusive): a records query (src/records/usage-queries.ts), summed by the database and run off the
 * request thread, as the table keeps a row per hour and code for the audit retention, which may be years.
 */
export async function refusalsPerDay({ db, tables: { refusalCounts } }: RecordsSource, q: { since: number; until: number }) {
  // A literal, not a parameter: Postgres takes two parameters of the same value for two expressions, and would not group by the select's.
  const day = sql<number>`${refusalCounts.hour} / ${sql.raw(String(DAY_MS))}`
  const rows = await db
    .select({ day, code: refusalCounts.code, count: sql<number>`sum(${refusalCounts.count})` })
    .from(refusalCounts)
    .where(and(gte(refusalCounts.hour, q.since), lt(refusalCounts.hour, q.until)))
    .groupBy(day, refusalCounts.code)
  return rows.map((r) => ({ day: Number(r.day), code: r.code, count: Number(r.count) }))
}
