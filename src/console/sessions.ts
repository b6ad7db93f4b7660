import { createHmac, timingSafeEqual } from 'node:crypto'
import { MASTER, type Caller } from '../keys/caller'
import { keyCaller } from '../keys/key-store'
import type { SessionRow, SessionRows, SigningInKey } from '../store/store'

export type SessionKind = 'admin' | 'key'

export interface ConsoleSession {
  /** The browser's token (in memory for this request only; the database has its HMAC). */
  token: string
  kind: SessionKind
  caller: Caller
  expiresAt: number
}

interface SessionLimits {
  /** A session unused for this long ends. */
  idleMs: number
  /** A session ends this long after sign-in, however busy. */
  maxMs: number
}

/**
 * Writing the last use on every console request would be a write per read: it is written once a minute (or
 * a tenth of a shorter idle timeout), and a session is idle only once that long has passed on top of the
 * idle timeout, since its last use may be that much later than the one written.
 */
const TOUCH_EVERY_MS = 60_000

/** What `create` makes: 32 random bytes, base64url. A cookie of any other shape is no session, without a lookup. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/

export const isSessionToken = (value: string): boolean => TOKEN.test(value)

/**
 * Console sign-ins (SPEC §12). A session token is 256 random bits held only by the browser, in an
 * HttpOnly cookie; the database keeps an HMAC of it keyed with the master key, so a stolen database
 * holds no usable token and a new master key ends every session. The CSRF token is derived from the
 * session token the same way: nothing more to store, and useless without the cookie.
 */
export class SessionStore {
  constructor(private readonly rows: SessionRows, private readonly masterKey: string, readonly limits: SessionLimits) {}

  /**
   * Starts a session; the token goes to the browser (cookie), only its HMAC into the database. A key's is made only
   * if the key is still that live key and its user not blocked, checked in the transaction that writes it: null when
   * not. A check before it could be outdated by then (a block answered while the sign-in waited for a lock), and its
   * session, made after the block deleted the user's, would be live again once the user is unblocked.
   */
  async create(kind: 'admin', key: null, now?: number): Promise<{ token: string; expiresAt: number }>
  async create(kind: 'key', key: { id: string; hash: string }, now?: number): Promise<{ token: string; expiresAt: number } | null>
  async create(kind: SessionKind, key: { id: string; hash: string } | null, now = Date.now()): Promise<{ token: string; expiresAt: number } | null> {
    const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
    const expiresAt = now + this.limits.maxMs
    const row = { id: this.storedId(token), kind, keyId: key?.id ?? null, keyHash: key?.hash ?? null, createdAt: now, expiresAt }
    // The clock as the check runs, after any wait for a lock: a key that expired meanwhile signs nobody in.
    const admits = (found: SigningInKey | undefined) => found !== undefined && keyHolds({ ...found, signedInWith: key?.hash ?? null }, Date.now())
    return (await this.rows.insert(row, now, now - this.idleAfterWritten(), admits)) ? { token, expiresAt } : null
  }

  /**
   * The live sessions of these tokens, in their order, found in one lookup whatever their number. A token has none
   * when it is unknown, idle or past its end, or its key is no longer what it signed in with (the last two are removed).
   */
  async resolve(tokens: readonly string[], now = Date.now()): Promise<ConsoleSession[]> {
    if (tokens.length === 0) return []
    const ids = tokens.map((token) => this.storedId(token))
    const rows = new Map((await this.rows.find(ids)).map((row) => [row.id, row]))
    const live: ConsoleSession[] = []
    const ended: string[] = []
    const used: string[] = []
    for (const [i, token] of tokens.entries()) {
      const row = rows.get(ids[i]!)
      if (!row) continue
      if (this.endOf(row) <= now || row.last_seen_at + this.idleAfterWritten() <= now || !this.holds(row, now)) {
        ended.push(row.id)
        continue
      }
      if (now - row.last_seen_at >= this.touchEvery()) used.push(row.id)
      live.push(this.session(token, row, now))
    }
    if (ended.length > 0) await this.rows.remove(ended)
    if (used.length > 0) await this.rows.touch(used, now)
    return live
  }

  private session(token: string, row: SessionRow, now: number): ConsoleSession {
    const caller =
      row.kind === 'admin'
        ? MASTER
        : keyCaller({
            id: row.key_id!, keyHash: row.key_hash!, userId: row.user_id!, rpmLimit: row.rpm_limit, allowedModels: row.allowed_models,
            userField: row.user_field, clampOutput: row.clamp_output,
          })
    return { token, kind: row.kind, caller, expiresAt: Math.min(this.endOf(row), Math.max(row.last_seen_at, now) + this.limits.idleMs) }
  }

  /**
   * Its end by the maximum set at sign-in, or by the one configured now if that is earlier: an operator who lowers
   * it (a lost laptop, say) ends every session already older than the new limit.
   */
  private endOf = (row: SessionRow): number => Math.min(row.expires_at, row.created_at + this.limits.maxMs)

  private touchEvery = () => Math.min(TOUCH_EVERY_MS, Math.ceil(this.limits.idleMs / 10))
  /** How long after its last written use a session is idle: its last use may be up to `touchEvery` later. */
  private idleAfterWritten = () => this.limits.idleMs + this.touchEvery()

  async end(tokens: readonly string[]): Promise<void> {
    if (tokens.length > 0) await this.rows.remove(tokens.map((token) => this.storedId(token)))
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

  /**
   * An admin session holds while the master key does (the HMAC); a key session while its key is the same live key and
   * its user not blocked. Blocking the user, or changing a key that has expired, deletes the row (ended-sessions.ts):
   * a session refused here is never live again.
   */
  private holds(row: SessionRow, now: number): boolean {
    if (row.kind === 'admin') return true
    return keyHolds({ key_hash: row.current_key_hash, signedInWith: row.key_hash, revoked_at: row.revoked_at, expires_at: row.key_expires_at, blocked: row.blocked }, now)
  }
}

/** A key session's key as it is now (nulls once deleted): the key it signed in with, live, its user not blocked. */
const keyHolds = (key: { key_hash: string | null; signedInWith: string | null; revoked_at: number | null; expires_at: number | null; blocked: boolean | null }, now: number): boolean =>
  key.key_hash !== null &&
  key.key_hash === key.signedInWith &&
  key.revoked_at === null &&
  (key.expires_at === null || key.expires_at > now) &&
  key.blocked === false
