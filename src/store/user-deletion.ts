import { sql, type SQL } from 'drizzle-orm'
import type * as sqliteTables from '../db/schema'
import type * as pgTables from './postgres/schema'

type Tables = Pick<typeof sqliteTables, 'users' | 'reservations'> | Pick<typeof pgTables, 'users' | 'reservations'>

/**
 * The user `userId` when it has no request in flight: nothing reserved, and no hold open (a hold of 0, a free
 * model, raises no `reserved`: its row alone says so). A DELETE's condition, one text for both stores.
 */
export function userWithoutHolds({ users, reservations }: Tables, userId: string): SQL {
  return sql`${users.id} = ${userId} AND ${users.reserved} = 0
    AND NOT EXISTS (SELECT 1 FROM ${reservations} WHERE ${reservations.userId} = ${users.id})`
}
