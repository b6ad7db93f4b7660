import type { Database, Statement } from 'bun:sqlite'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { MASTER, type Caller } from '../keys/caller'
import { keyCaller } from '../keys/key-store'

export type SessionKind = 'admin' | 'key'

export interface ConsoleSession {
  /** The browser's token (in memory for this request only; the database has its HMAC). */
  token: string
  kind: SessionKind
  caller: Caller
  expiresAt: number
}

export interface SessionLimits {
  /** A session unused for this long ends. */
  idleMs: number
  /** A session ends this long after sign-in, however busy. */
  maxMs: number
}

interface SessionRow {
  id: string
  kind: SessionKind
  key_id: string | null
  key_hash: string | null
  last_seen_at: number
  expires_at: number
  // The key and its user as they are now (null once deleted).
  current_key_hash: string | null
  revoked_at: number | null
  key_expires_at: number | null
  user_id: string | null
  allowed_models: string | null
  rpm_limit: number | null
  user_field: 'reject' | 'tag' | null
  clamp_output: number | null
  blocked: number | null
}

/** Writing the last use on every console request would be a write per read: once a minute is enough for an idle timeout. */
const TOUCH_EVERY_MS = 60_000

/**
 * Console sign-ins (SPEC §12). A session token is 256 random bits held only by the browser, in an
 * HttpOnly cookie; the database keeps an HMAC of it keyed with the master key, so a stolen database
 * holds no usable token and a new master key ends every session. The CSRF token is derived from the
 * session token the same way: nothing more to store, and useless without the cookie.
 */
export class SessionStore {
  private readonly insert: Statement<unknown, [string, SessionKind, string | null, string | null, number, number, number]>
  private readonly lookup: Statement<SessionRow, [string]>
  private readonly touch: Statement<unknown, [number, string]>
  private readonly remove: Statement<unknown, [string]>
  private readonly prune: Statement<unknown, [number, number]>

  constructor(db: Database, private readonly masterKey: string, readonly limits: SessionLimits) {
    this.insert = db.prepare(
      'INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    this.lookup = db.prepare(
      `SELECT s.id, s.kind, s.key_id, s.key_hash, s.last_seen_at, s.expires_at,
              k.key_hash AS current_key_hash, k.revoked_at, k.expires_at AS key_expires_at, k.user_id, k.allowed_models, k.rpm_limit, k.user_field, k.clamp_output,
              u.blocked
       FROM console_sessions s LEFT JOIN api_keys k ON k.id = s.key_id LEFT JOIN users u ON u.id = k.user_id
       WHERE s.id = ?`,
    )
    this.touch = db.prepare('UPDATE console_sessions SET last_seen_at = ? WHERE id = ?')
    this.remove = db.prepare('DELETE FROM console_sessions WHERE id = ?')
    this.prune = db.prepare('DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at <= ?')
  }

  /** Starts a session; the token goes to the browser (cookie), only its HMAC into the database. */
  create(kind: SessionKind, key: { id: string; hash: string } | null, now = Date.now()): { token: string; expiresAt: number } {
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
    const expiresAt = now + this.limits.maxMs
    this.prune.run(now, now - this.limits.idleMs)
    this.insert.run(this.storedId(token), kind, key?.id ?? null, key?.hash ?? null, now, now, expiresAt)
    return { token, expiresAt }
  }

  /** The live session of a token, or null: unknown, idle or past its end, or its key no longer what it signed in with. */
  resolve(token: string, now = Date.now()): ConsoleSession | null {
    const id = this.storedId(token)
    const row = this.lookup.get(id)
    if (!row) return null
    if (row.expires_at <= now || row.last_seen_at + this.limits.idleMs <= now || !this.holds(row, now)) {
      this.remove.run(id)
      return null
    }
    if (now - row.last_seen_at >= TOUCH_EVERY_MS) this.touch.run(now, id)
    const caller =
      row.kind === 'admin'
        ? MASTER
        : keyCaller({
            id: row.key_id!, userId: row.user_id!, rpmLimit: row.rpm_limit,
            allowedModels: row.allowed_models === null ? null : (JSON.parse(row.allowed_models) as string[]),
            userField: row.user_field, clampOutput: row.clamp_output === null ? null : row.clamp_output === 1,
          })
    return { token, kind: row.kind, caller, expiresAt: Math.min(row.expires_at, Math.max(row.last_seen_at, now) + this.limits.idleMs) }
  }

  end(token: string): void {
    this.remove.run(this.storedId(token))
  }

  /** The CSRF token that goes with a session token. */
  csrfToken(token: string): string {
    return createHmac('sha256', this.masterKey).update(`csrf\0${token}`).digest('base64url')
  }

  checkCsrf(token: string, sent: string | null): boolean {
    if (!sent) return false
    const expected = Buffer.from(this.csrfToken(token))
    const given = Buffer.from(sent)
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  private storedId(token: string): string {
    return createHmac('sha256', this.masterKey).update(`session\0${token}`).digest('hex')
  }

  /** An admin session holds while the master key does (the HMAC); a key session while its key is the same live key and its user not blocked. */
  private holds(row: SessionRow, now: number): boolean {
    if (row.kind === 'admin') return true
    return (
      row.current_key_hash !== null &&
      row.current_key_hash === row.key_hash &&
      row.revoked_at === null &&
      (row.key_expires_at === null || row.key_expires_at > now) &&
      row.blocked === 0
    )
  }
}
