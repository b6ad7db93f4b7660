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
 *
 * The ledger (reservation batches, settlements, the sweeper) locks its users' rows FOR NO KEY UPDATE, not FOR UPDATE:
 * it changes their figures, never their id, and that lock keeps ledger transactions from each other as FOR UPDATE
 * does, but lets an insert that only checks a foreign key to the user (FOR KEY SHARE) go on. With FOR UPDATE, a
 * batch of stored Responses ids waited behind the settlement of the very stream that recorded them (both sent as
 * the stream ends), past its bounded lock wait on a busy machine: it was given up and sent again half a second
 * later, and meanwhile the client's next request in the chain, which writes the queued ids before it looks them up,
 * was refused 503 database_busy (SQLite answered it).
 * - a key's console sign-in locks its user's row FOR KEY SHARE and then the key's FOR SHARE, and checks them, before it
 *   inserts its session (whose foreign key needs the key's row) and deletes the ended ones (postgresSessionRows), whose
 *   rows come after the key's, skipping those locked. The user's lock is what a block (FOR UPDATE) waits for, or waits
 *   behind: the block's deletion of the user's sessions then sees the new one, or the sign-in sees the block.
 *
 * The ledger's batches, which lock the rows of many users, go further: they never wait for one user's row while they
 * hold another's. A reservation batch, a settlement batch and the sweeper take the rows no other session holds (SKIP
 * LOCKED, which waits for nothing, and so keeps no order to keep) and leave the others out; only a transaction of one
 * user's waits, for that user's row and then its keys' (lockedUserBatch, settleIn, a sweep's, an expectedBatch of one
 * user). A row held elsewhere for long (a replica frozen mid-transaction) then holds up its own user's requests only, not
 * those of every user whose rows a transaction took before it while waiting for it.
 *
 * The transactions that lock rows of more than one of these tables: a reservation batch (its users, its keys,
 * then SETTLE's deletes and the new holds), a settlement (settleIn), the sweeper (sweepBatch finds the expired
 * holds without locking them, then locks their users, their keys and then the holds), a key's new ceiling with
 * its holds taken over (updateKey), a user's deletion (deleteUser) and a console sign-in (its user's row, its key's,
 * then the sessions); and, of several users' rows, a batch of stored response ids (writeResponses). Every other write locks
 * one table's rows, or one row.
 */

/**
 * The rows of `userIds` and then of `keyIds`, each in id order: the first two steps of the order. The users' rows
 * FOR NO KEY UPDATE (see the ledger's users lock above).
 */
export async function lockUsersThenKeys(tx: TransactionSQL, userIds: Iterable<string>, keyIds: Iterable<string | null>): Promise<void> {
  await tx`SELECT 1 FROM users WHERE id IN (SELECT json_array_elements_text(${idsOf(userIds)}::text::json)) ORDER BY id FOR NO KEY UPDATE`
  await tx`SELECT 1 FROM api_keys WHERE id IN (SELECT json_array_elements_text(${idsOf(keyIds)}::text::json)) ORDER BY id FOR UPDATE`
}

/**
 * The users' rows FOR KEY SHARE, in id order: the lock that inserting a row referring to a user takes for its foreign
 * key, taken here in the order rather than as the rows come. Answers the ids of those that exist.
 */
export async function shareUsers(tx: TransactionSQL, userIds: Iterable<string>): Promise<Set<string>> {
  const rows = await tx`SELECT id FROM users WHERE id IN (SELECT json_array_elements_text(${idsOf(userIds)}::text::json)) ORDER BY id FOR KEY SHARE`
  return new Set(rows.map((u: { id: string }) => u.id))
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
