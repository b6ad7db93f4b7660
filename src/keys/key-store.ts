import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/open'
import type { CacheChange } from '../redis/change-feed'
import { apiKeys } from '../db/schema'
import { colonSpelling } from '../providers/registry'
import type { KeyCaller } from './caller'
import { hashKey } from './secret'

interface CachedKey {
  /** null: no such key (cached too, so a flood of one bad key costs one lookup per TTL). */
  caller: KeyCaller | null
  expiresAt: number | null
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
  private readonly lookup
  /** Told of every change made through this process, for the other replicas. */
  onChange: (change: CacheChange) => void = () => {}

  constructor(db: Db, private readonly ttlMs: number) {
    this.lookup = db
      .select({
        id: apiKeys.id, userId: apiKeys.userId, expiresAt: apiKeys.expiresAt, revokedAt: apiKeys.revokedAt,
        allowedModels: apiKeys.allowedModels, rpmLimit: apiKeys.rpmLimit, userField: apiKeys.userField, clampOutput: apiKeys.clampOutput,
      })
      .from(apiKeys)
      .where(eq(apiKeys.keyHash, sql.placeholder('hash')))
      .prepare()
  }

  /** The caller a secret belongs to, or null when it is unknown, revoked or expired. */
  verify(secret: string, now = Date.now()): KeyCaller | null {
    const hash = hashKey(secret)
    let entry = this.cache.get(hash)
    if (!entry || now - entry.fetchedAt > this.ttlMs) {
      entry = this.load(hash, now)
      if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!)
      this.cache.set(hash, entry)
    }
    if (entry.expiresAt !== null && entry.expiresAt <= now) return null
    return entry.caller
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
    for (const [hash, entry] of this.cache) if (entry.caller?.keyId === keyId) this.cache.delete(hash)
  }

  forgetUser(userId: string): void {
    for (const [hash, entry] of this.cache) if (entry.caller?.userId === userId) this.cache.delete(hash)
  }

  forgetAll(): void {
    this.cache.clear()
  }

  private load(hash: string, now: number): CachedKey {
    const row = this.lookup.get({ hash }) as
      | {
        id: string; userId: string; expiresAt: number | null; revokedAt: number | null; allowedModels: string[] | null; rpmLimit: number | null
        userField: 'reject' | 'tag' | null; clampOutput: boolean | null
      }
      | undefined
    if (!row || row.revokedAt !== null) return { caller: null, expiresAt: null, fetchedAt: now }
    return { caller: keyCaller(row), expiresAt: row.expiresAt, fetchedAt: now }
  }
}

/** The caller a key row stands for (the row is neither revoked nor expired: the caller checked). */
export function keyCaller(row: {
  id: string
  userId: string
  allowedModels: string[] | null
  rpmLimit: number | null
  userField: KeyCaller['userField']
  clampOutput: boolean | null
}): KeyCaller {
  return Object.freeze({
    kind: 'key',
    keyId: row.id,
    userId: row.userId,
    // An operator may write `provider/model`, as clients may call it: the check compares `provider:model`.
    allowedModels: row.allowedModels && [...new Set(row.allowedModels.flatMap((m) => [m, colonSpelling(m)]))],
    rpmLimit: row.rpmLimit,
    userField: row.userField,
    clampOutput: row.clampOutput,
  })
}
