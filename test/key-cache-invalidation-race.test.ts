import { describe, expect, test } from 'bun:test'
import { KeyStore } from '../src/keys/key-store'
import type { KeyLookupRow } from '../src/store/store'

/**
 * On Postgres a key lookup is a promise. A revoke, rotate or user change that invalidates the key while such a
 * lookup is in flight must not be undone when the lookup (which read the row as it was before) resolves:
 * revoke and rotate take effect at once in this process (and, through Redis, in every other). The lookup is
 * answered, not remembered, as the price book does with its `generation`.
 */
const row: KeyLookupRow = {
  id: 'key_race', userId: 'u1', expiresAt: null, revokedAt: null, allowedModels: null, rpmLimit: null, userField: null, clampOutput: null,
}

describe('key cache: an invalidation during a lookup in flight', () => {
  test('a key revoked/rotated while a lookup of its old secret is in flight is refused on the next request, not cached for the TTL', async () => {
    let release!: (r: KeyLookupRow | undefined) => void
    let lookups = 0
    // The first lookup reads the row before the revoke commits; any later lookup sees it gone (rotated away).
    const store = {
      findKey: (_hash: string) => {
        lookups++
        return lookups === 1 ? new Promise<KeyLookupRow | undefined>((r) => (release = r)) : Promise.resolve(undefined)
      },
    }
    const keys = new KeyStore(store, 5_000)
    const now = 1_000_000
    const inFlight = keys.verify('tg-old-secret', now)
    // The admin route's update commits and it invalidates the key (keys.ts rotate/DELETE, or a Redis change).
    keys.invalidate('key_race')
    release(row)
    await inFlight // that request was read before the change; it may go on
    // A request one millisecond later, with the old secret, must not be served from a cache filled by the stale read.
    expect(await keys.verify('tg-old-secret', now + 1)).toBeNull()
    expect(lookups).toBe(2)
  })

  test('the same through forgetUser (a user deleted or blocked via another replica while a lookup is in flight)', async () => {
    let release!: (r: KeyLookupRow | undefined) => void
    let lookups = 0
    const store = {
      findKey: (_hash: string) => {
        lookups++
        return lookups === 1 ? new Promise<KeyLookupRow | undefined>((r) => (release = r)) : Promise.resolve(undefined)
      },
    }
    const keys = new KeyStore(store, 5_000)
    const inFlight = keys.verify('tg-old-secret', 1_000_000)
    keys.forgetUser('u1')
    release(row)
    await inFlight
    expect(await keys.verify('tg-old-secret', 1_000_001)).toBeNull()
  })
})
