import type { Database } from 'bun:sqlite'
import type { WriteQueue } from '../../db/write-queue'
import type { NewSessionRow, SessionRow, SessionRows, SigningInKey } from '../store'

type Raw = Omit<SessionRow, 'allowed_models' | 'clamp_output' | 'blocked'> & { allowed_models: string | null; clamp_output: number | null; blocked: number | null }

/** Written straight on the connection, each write waiting on the event loop for another process's lock (WriteQueue.waitingForLock). */
export function sqliteSessionRows(db: Database, writes: WriteQueue): SessionRows {
  const insert = db.prepare<unknown, [string, NewSessionRow['kind'], string | null, string | null, number, number, number]>(
    'INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  // The ids as one JSON array: one parameter, whatever their number.
  const lookup = db.prepare<Raw, [string]>(
    `SELECT s.id, s.kind, s.key_id, s.key_hash, s.created_at, s.last_seen_at, s.expires_at,
            k.key_hash AS current_key_hash, k.revoked_at, k.expires_at AS key_expires_at, k.user_id, k.allowed_models, k.rpm_limit, k.user_field, k.clamp_output,
            u.blocked
     FROM console_sessions s LEFT JOIN api_keys k ON k.id = s.key_id LEFT JOIN users u ON u.id = k.user_id
     WHERE s.id IN (SELECT value FROM json_each(?))`,
  )
  const touch = db.prepare<unknown, [number, string]>('UPDATE console_sessions SET last_seen_at = ? WHERE id IN (SELECT value FROM json_each(?))')
  const remove = db.prepare<unknown, [string]>('DELETE FROM console_sessions WHERE id IN (SELECT value FROM json_each(?))')
  const prune = db.prepare<unknown, [number, number]>('DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?')
  const signingInKey = db.prepare<{ key_hash: string; revoked_at: number | null; expires_at: number | null; blocked: number }, [string]>(
    'SELECT k.key_hash, k.revoked_at, k.expires_at, u.blocked FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = ?',
  )
  // IMMEDIATE: the key and its user are read under the write lock, so that no block or key change, this process's or
  // another's, commits between the check and the insert.
  const signIn = db.transaction((r: NewSessionRow, now: number, idleSince: number, admits: (key: SigningInKey | undefined) => boolean): boolean => {
    if (r.keyId !== null) {
      const key = signingInKey.get(r.keyId)
      if (!admits(key ? { ...key, blocked: key.blocked === 1 } : undefined)) return false
    }
    prune.run(now, idleSince)
    insert.run(r.id, r.kind, r.keyId, r.keyHash, r.createdAt, r.createdAt, r.expiresAt)
    return true
  }).immediate
  return {
    insert: (r, now, idleSince, admits) => writes.waitingForLock(() => signIn(r, now, idleSince, admits)),
    async find(ids) {
      return lookup.all(JSON.stringify(ids)).map((row) => ({
        ...row,
        allowed_models: row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]),
        clamp_output: row.clamp_output === null ? null : row.clamp_output === 1,
        blocked: row.blocked === null ? null : row.blocked === 1,
      }))
    },
    touch: (ids, now) => writes.waitingForLock(() => void touch.run(now, JSON.stringify(ids))),
    remove: (ids) => writes.waitingForLock(() => void remove.run(JSON.stringify(ids))),
  }
}
