import { eq } from 'drizzle-orm'
import { userBlocked } from '../budget/ledger'
import type { Store } from '../store/store'
import type { Caller } from './caller'

/**
 * Refuses a blocked user's key on the free calls: counting tokens, reading, cancelling or deleting a stored
 * response. They take no hold, so the ledger, which refuses a blocked user when it is asked for one, never
 * sees them; yet they reach a provider on the user's behalf. Read from the database, as the ledger reads it:
 * a block takes effect at once, not after the key cache's TTL.
 */
export async function refuseBlockedUser(store: Store, caller: Caller): Promise<void> {
  if (caller.kind !== 'key') return
  const { db, tables: { users } } = store
  const [user] = await db.select({ blocked: users.blocked }).from(users).where(eq(users.id, caller.userId))
  if (user?.blocked) throw userBlocked()
}
