import { sql, type SQL } from 'drizzle-orm'
import type * as sqliteTables from '../db/schema'
import type * as pgTables from './postgres/schema'

/**
 * What a user's usage rows dated at or after `since` cost: the spend of a period begun at `since`, as a value
 * for the user's row (one text for both stores, whose usage tables have the same columns). Set under the
 * lock settlements take on that row, it counts every settlement committed before the lock that is dated in
 * the period; one committed after it finds the period begun and is dated and counted in it (settlementDate).
 */
export function usageCostSince(usage: typeof sqliteTables.usage | typeof pgTables.usage, userId: string, since: number): SQL {
  return sql`(SELECT coalesce(sum(${usage.cost}), 0) FROM ${usage} WHERE ${usage.userId} = ${userId} AND ${usage.createdAt} >= ${since})`
}
