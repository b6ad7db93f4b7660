import type { TransactionSQL } from 'bun'
import { sql, type SQL } from 'drizzle-orm'

/**
 * The one order in which every Postgres transaction takes the ledger's row locks: users, then api_keys, then the
 * rows that hang off a key (reservations, console sessions), each table's rows in id order. A transaction never
 * waits for a row of an earlier table while it holds one of a later table, so two transactions (on one replica or
 * several) wait for each other in one direction only and never deadlock. A deadlock would cost deadlock_timeout
 * (1 s) before Postgres undoes one side, and meanwhile the replica's one reservation batch, and with it every
 * user's holds, would wait.
 *
 * The locks Postgres takes on its own count too:
 * - an UPDATE of an api_keys row that the transaction has already written checks the foreign key to users, even
 *   with user_id unchanged, and takes FOR KEY SHARE on the user's row. So a transaction that writes a key's row
 *   twice locks the key's user first (lockKeyAndItsUser).
 * - a DELETE of a user deletes its keys through the cascade, and their console sessions (users, keys, then
 *   sessions: in order);
 * - inserting a key or a stored response takes FOR KEY SHARE on its user's row (users first: in order). A
 *   transaction that inserts rows of several users takes those locks in id order first (shareUsers), not as its
 *   rows come.
 * - inserting a key's console session takes FOR KEY SHARE on the key's row: a sign-in inserts its session before
 *   it deletes the ended ones (postgresSessionRows), whose rows come after the key's, and skips those locked.
 *
 * The transactions that lock rows of more than one of these tables: a reservation batch (its users, its keys,
 * then SETTLE's deletes and the new holds), a settlement (settleIn), the sweeper (sweepBatch finds the expired
 * holds without locking them, then locks their users, their keys and then the holds), a key's new ceiling with
 * its holds taken over (updateKey), a user's deletion (deleteUser) and a console sign-in (its key's row, then the
 * sessions); and, of several users' rows, a batch of stored response ids (writeResponses). Every other write locks
 * one table's rows, or one row.
 */

/** The rows of `userIds` and then of `keyIds`, each in id order: the first two steps of the order. */
export async function lockUsersThenKeys(tx: TransactionSQL, userIds: Iterable<string>, keyIds: Iterable<string | null>): Promise<void> {
  await tx`SELECT 1 FROM users WHERE id IN (SELECT json_array_elements_text(${idsOf(userIds)}::text::json)) ORDER BY id FOR UPDATE`
  await tx`SELECT 1 FROM api_keys WHERE id IN (SELECT json_array_elements_text(${idsOf(keyIds)}::text::json)) ORDER BY id FOR UPDATE`
}

/**
 * The users' rows FOR KEY SHARE, in id order: the lock that inserting a row referring to a user takes for its foreign
 * key, taken here in the order rather than as the rows come.
 */
export async function shareUsers(tx: TransactionSQL, userIds: Iterable<string>): Promise<void> {
  await tx`SELECT 1 FROM users WHERE id IN (SELECT json_array_elements_text(${idsOf(userIds)}::text::json)) ORDER BY id FOR KEY SHARE`
}

/**
 * The key's user's row and then the key's, for a transaction that writes the key's row twice (see above). Two
 * statements, to run in turn: when one statement locks the rows of a join, the plan decides which comes first.
 */
export const lockKeyAndItsUser = (keyId: string): SQL[] => [
  sql`SELECT 1 FROM users WHERE id = (SELECT user_id FROM api_keys WHERE id = ${keyId}) FOR UPDATE`,
  sql`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`,
]

/** The distinct ids as one JSON array (one parameter, whatever their number), nulls left out. */
export const idsOf = (ids: Iterable<string | null>): string => JSON.stringify([...new Set([...ids].filter((id): id is string => id !== null))])
