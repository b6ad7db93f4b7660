import { OldestFirstEviction } from '../oldest-first-eviction'
import type { CacheChange } from '../redis/change-feed'
import type { KeyLookupRow, Store } from '../store/store'
import type { KeyCaller } from './caller'
import { hashKey } from './secret'

interface CachedKey {
  /** null: no such key (cached too, so a flood of one bad key costs one lookup per TTL). */
  caller: KeyCaller | null
  expiresAt: number | null
  /** performance.now() as it was looked up: a step of the wall clock neither stretches nor cuts its `ttlMs`. */
  fetchedAt: number
}

const MAX_ENTRIES = 10_000

/**
 * Verifies virtual keys on the hot path. A verified key is kept in memory for `ttlMs`; revoke, rotate and
 * every change made through this process drop it at once, and changes made by another process sharing
 * the database show within `ttlMs` — or at once, when Redis carries the change (src/redis/change-feed.ts).
 */
export class KeyStore {
  private readonly cache = new Map<string, CachedKey>()
  private readonly eviction = new OldestFirstEviction(this.cache)
  /**
   * Counts the forgettings: a lookup (a promise, on Postgres) that was under way when a key or user was
   * forgotten may carry the row as it was before the change, and is answered but not remembered.
   */
  private generation = 0
  /** Told of every change made through this process, for the other replicas. */
  onChange: (change: CacheChange) => void = () => {}

  constructor(private readonly store: Pick<Store, 'findKey'>, private readonly ttlMs: number) {}

  /**
   * The caller a secret belongs to, or null when it is unknown, revoked or expired. A cached key (and, on
   * SQLite, any key) is answered at once; a Postgres lookup is a promise.
   */
  verify(secret: string, now = Date.now()): KeyCaller | null | Promise<KeyCaller | null> {
    return this.verifyHash(hashKey(secret), now)
  }

  /** `verify` for a secret already hashed: what a request's key is checked again by once its body is in. */
  verifyHash(hash: string, now = Date.now()): KeyCaller | null | Promise<KeyCaller | null> {
    const entry = this.cache.get(hash)
    const lookedUpAt = performance.now()
    if (entry && lookedUpAt - entry.fetchedAt <= this.ttlMs) return callerOf(entry, now)
    const row = this.store.findKey(hash)
    if (!(row instanceof Promise)) return callerOf(this.remember(hash, row, lookedUpAt), now)
    const generation = this.generation
    return row.then((r) => callerOf(generation === this.generation ? this.remember(hash, r, lookedUpAt) : this.load(hash, r, lookedUpAt), now))
  }

  private remember(hash: string, row: KeyLookupRow | undefined, fetchedAt: number): CachedKey {
    const entry = this.load(hash, row, fetchedAt)
    if (this.cache.size >= MAX_ENTRIES) this.eviction.evictOldest()
    this.cache.set(hash, entry)
    return entry
  }

  /** The key (by id) changed: every process forgets its cached entry, and the next request reads the database. */
  invalidate(keyId: string): void {
    this.forget(keyId)
    this.onChange({ kind: 'key', id: keyId })
  }

  invalidateUser(userId: string): void {
    this.forgetUser(userId)
    this.onChange({ kind: 'user', id: userId })
  }

  /** Forget what this process cached of the key (another process changed it). */
  forget(keyId: string): void {
    this.generation++
    for (const [hash, entry] of this.cache) if (entry.caller?.keyId === keyId) this.cache.delete(hash)
  }

  forgetUser(userId: string): void {
    this.generation++
    for (const [hash, entry] of this.cache) if (entry.caller?.userId === userId) this.cache.delete(hash)
  }

  forgetAll(): void {
    this.generation++
    this.cache.clear()
  }

  /** `row`: the key found by `hash`, so `hash` is the secret's hash it held as it was read. */
  private load(hash: string, row: KeyLookupRow | undefined, fetchedAt: number): CachedKey {
    if (!row || row.revokedAt !== null) return { caller: null, expiresAt: null, fetchedAt }
    return { caller: keyCaller({ ...row, keyHash: hash }), expiresAt: row.expiresAt, fetchedAt }
  }
}

const callerOf = (entry: CachedKey, now: number): KeyCaller | null =>
  entry.expiresAt !== null && entry.expiresAt <= now ? null : entry.caller

/** The caller a key row stands for (the row is neither revoked nor expired: the caller checked). */
export function keyCaller(row: {
  id: string
  keyHash: string
  userId: string
  allowedModels: string[] | null
  rpmLimit: number | null
  userField: KeyCaller['userField']
  clampOutput: boolean | null
}): KeyCaller {
  return Object.freeze({
    kind: 'key',
    keyId: row.id,
    keyHash: row.keyHash,
    userId: row.userId,
    allowedModels: row.allowedModels,
    rpmLimit: row.rpmLimit,
    userField: row.userField,
    clampOutput: row.clampOutput,
  })
}
