import { eq } from 'drizzle-orm'
import { isLiveKey, userBlocked } from '../budget/ledger'
import type { apiKeys, users } from '../db/schema'
import { unauthorized } from '../http/errors'
import type { Store } from '../store/store'
import type { Caller, KeyCaller } from './caller'

/**
 * The calling key's row and its user's, read from the database now: refused 401 when the key is gone (with its
 * user, deleted through another process), revoked, expired or rotated away from the caller's secret, whatever the
 * key cache of this process still says.
 * For the calls that take no hold yet show what was recorded for the key or reach a provider on its behalf; a
 * hold reads the same rows under the ledger's lock (`decideHold`).
 */
export async function liveKeyRows(
  store: Store,
  caller: KeyCaller,
  now = Date.now(),
): Promise<{ key: typeof apiKeys.$inferSelect; user: typeof users.$inferSelect }> {
  const { db, tables } = store
  const [rows] = await db
    .select({ key: tables.apiKeys, user: tables.users })
    .from(tables.apiKeys)
    .innerJoin(tables.users, eq(tables.users.id, tables.apiKeys.userId))
    .where(eq(tables.apiKeys.id, caller.keyId))
  if (!rows || !isLiveKey(rows.key, caller.keyHash, now)) throw unauthorized()
  return rows
}

/**
 * The free calls' check: counting tokens, reading, cancelling or deleting a stored response. They take no hold,
 * so the ledger never sees them; yet they reach a provider on the user's behalf (a stored response is what was
 * recorded for the user). So the key must be live and its user not blocked by the database, as a hold would
 * find them: a revocation, a deletion or a block takes effect at once, not after the key cache's TTL.
 */
export async function refuseDeadKeyOrBlockedUser(store: Store, caller: Caller): Promise<void> {
  if (caller.kind !== 'key') return
  const { user } = await liveKeyRows(store, caller)
  if (user.blocked) throw userBlocked()
}
