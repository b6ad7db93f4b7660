import { sql, type SQL } from 'drizzle-orm'
import type * as sqliteTables from '../db/schema'
import type * as pgTables from './postgres/schema'

type Tables = Pick<typeof sqliteTables, 'consoleSessions' | 'apiKeys'> | Pick<typeof pgTables, 'consoleSessions' | 'apiKeys'>

/*
 * A key's console session ends once its user is blocked or its key expires (README "Admin console"). Refusing it
 * while that lasts (SessionStore.holds) is not ending it: a user unblocked, or a key given a later expiry, before
 * the browser's next request would find its session live again, without a sign-in. So the rows go, in the
 * transaction of the change that would revive them (one text for both stores, whose tables have the same columns).
 */

/** Deletes the key sessions of a user's keys: written with the user's block. */
export const deleteKeySessionsOfUser = ({ consoleSessions: s, apiKeys: k }: Tables, userId: string): SQL =>
  sql`DELETE FROM ${s} WHERE ${s.keyId} IN (SELECT ${k.id} FROM ${k} WHERE ${k.userId} = ${userId})`

/** Deletes a key's sessions: written with any change to a key that had expired by then, which may extend it. */
export const deleteKeySessionsOfKey = ({ consoleSessions: s }: Tables, keyId: string): SQL => sql`DELETE FROM ${s} WHERE ${s.keyId} = ${keyId}`

export const expiredBy = (expiresAt: number | null, now: number): boolean => expiresAt !== null && expiresAt <= now
