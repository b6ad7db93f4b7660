import type { SQL, TransactionSQL } from 'bun'
import type { SessionRow, SessionRows, SigningInKey } from '../store'
import { jsonColumn } from './store'

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** A row as Postgres gives it: its bigints as strings, its JSON as text or parsed. */
const sessionRow = (row: SessionRow): SessionRow => ({
  ...row,
  created_at: Number(row.created_at),
  last_seen_at: Number(row.last_seen_at),
  expires_at: Number(row.expires_at),
  revoked_at: numberOrNull(row.revoked_at),
  key_expires_at: numberOrNull(row.key_expires_at),
  rpm_limit: numberOrNull(row.rpm_limit),
  allowed_models: jsonColumn<string[]>(row.allowed_models),
})

/**
 * A signing-in key and its user, locked until the session is written, in the one order (lock-order.ts): the user's
 * row FOR KEY SHARE, which a block (FOR UPDATE) waits for and which waits for a block under way, then reads it as
 * committed; then the key's FOR SHARE, which waits for a change or revocation of the key under way (FOR NO KEY UPDATE)
 * and for a reservation of its own (FOR UPDATE), as the session's foreign key would. Two statements, to run in turn:
 * when one statement locks the rows of a join, the plan decides which comes first.
 */
async function signingInKey(tx: TransactionSQL, keyId: string): Promise<SigningInKey | undefined> {
  const [user] = await tx`SELECT blocked FROM users WHERE id = (SELECT user_id FROM api_keys WHERE id = ${keyId}) FOR KEY SHARE`
  const [key] = await tx`SELECT key_hash, revoked_at, expires_at FROM api_keys WHERE id = ${keyId} FOR SHARE`
  if (!user || !key) return undefined
  return { key_hash: key.key_hash, revoked_at: numberOrNull(key.revoked_at), expires_at: numberOrNull(key.expires_at), blocked: user.blocked }
}

/**
 * Console sessions in Postgres: a session made through one replica is found by its id on any other. Ids go as one
 * JSON array, as on SQLite: one parameter, whatever their number. Signing in and out are transactions, as every
 * admin write (see PostgresStore.write): one answered after the deadline, whose caller was refused, is rolled back
 * rather than landing later.
 */
export function postgresSessionRows(sql: SQL): SessionRows {
  return {
    insert: (r, now, idleSince, admits) =>
      sql.begin(async (tx) => {
        if (r.keyId !== null && !admits(await signingInKey(tx, r.keyId))) return false
        // The insert before the ended sessions' deletion: its foreign key's lock on the key's row (taken above) comes
        // before any session's (lock-order.ts), as a user's deletion takes them (its keys, then their sessions). Ended
        // sessions another transaction holds (that deletion's cascade, a sign-in clearing them too) are left to the next
        // sign-in: each takes their rows in its own order, and none is in use (SessionStore.resolve refuses it).
        await tx`
          INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at)
          VALUES (${r.id}, ${r.kind}, ${r.keyId}, ${r.keyHash}, ${r.createdAt}, ${r.createdAt}, ${r.expiresAt})`
        await tx`
          DELETE FROM console_sessions WHERE id IN (
            SELECT id FROM console_sessions WHERE (expires_at <= ${now} OR last_seen_at <= ${idleSince}) AND id <> ${r.id} FOR UPDATE SKIP LOCKED)`
        return true
      }),
    async find(ids) {
      const rows = await sql`
        SELECT s.id, s.kind, s.key_id, s.key_hash, s.created_at, s.last_seen_at, s.expires_at,
               k.key_hash AS current_key_hash, k.revoked_at, k.expires_at AS key_expires_at, k.user_id, k.allowed_models, k.rpm_limit, k.user_field, k.clamp_output,
               u.blocked
        FROM console_sessions s LEFT JOIN api_keys k ON k.id = s.key_id LEFT JOIN users u ON u.id = k.user_id
        WHERE s.id IN (SELECT json_array_elements_text(${JSON.stringify(ids)}::text::json))`
      return rows.map(sessionRow)
    },
    async touch(ids, now) {
      await sql`UPDATE console_sessions SET last_seen_at = ${now} WHERE id IN (SELECT json_array_elements_text(${JSON.stringify(ids)}::text::json))`
    },
    async remove(ids) {
      await sql.begin((tx) => tx`DELETE FROM console_sessions WHERE id IN (SELECT json_array_elements_text(${JSON.stringify(ids)}::text::json))`)
    },
  }
}
