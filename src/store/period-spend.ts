import { sql, type SQL } from 'drizzle-orm'
import { DAY_MS } from '../budget/period'
import type * as sqliteTables from '../db/schema'
import type * as pgTables from './postgres/schema'

type Tables = Pick<typeof sqliteTables, 'usage' | 'usageDailyUsers'> | Pick<typeof pgTables, 'usage' | 'usageDailyUsers'>

/**
 * What a user's usage rows dated at or after `since` cost: the spend of a period begun at `since`, as a value
 * for the user's row (one text for both stores, whose tables have the same columns). Set under the lock
 * settlements take on that row, it counts every settlement committed before the lock that is dated in the
 * period; one committed after it finds the period begun and is dated and counted in it (settlementDate).
 *
 * The whole days from the daily rollup (kept in the transaction of every usage row), the rows of a partial first
 * day from `usage`: a busy user's months of rows summed one by one were a statement of hundreds of ms on the
 * request thread. A budget period begins at midnight UTC, so that part is empty but for an odd `since`.
 */
export function usageCostSince({ usage, usageDailyUsers: daily }: Tables, userId: string, since: number): SQL {
  const firstWholeDay = Math.ceil(since / DAY_MS)
  return sql`((SELECT coalesce(sum(${daily.cost}), 0) FROM ${daily} WHERE ${daily.userId} = ${userId} AND ${daily.day} >= ${firstWholeDay})
    + (SELECT coalesce(sum(${usage.cost}), 0) FROM ${usage}
       WHERE ${usage.userId} = ${userId} AND ${usage.createdAt} >= ${since} AND ${usage.createdAt} < ${firstWholeDay * DAY_MS}))`
}
