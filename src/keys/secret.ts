import { timingSafeEqual } from 'node:crypto'

/** Every virtual key starts with this, so it is recognisable in a leak scan and never mistaken for a provider's key. */
export const KEY_PREFIX = 'tg-'
const RANDOM_BYTES = 32
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6

export interface NewKey {
  /** Returned to the caller once, never stored. */
  secret: string
  hash: string
  prefix: string
}

/**
 * SHA-256 and not a password hash: the key is 256 random bits, so there is nothing to brute-force, and
 * the hash is both the lookup index and the cache key on every request (~1 µs against bcrypt's ~77 ms).
 */
export function hashKey(secret: string): string {
  return new Bun.CryptoHasher('sha256').update(secret).digest('hex')
}

export function generateKey(): NewKey {
  const secret = KEY_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES))).toString('base64url')
  return { secret, hash: hashKey(secret), prefix: secret.slice(0, SHOWN_PREFIX_LENGTH) }
}

/** Compares fixed-length digests, so neither the time taken nor an early exit reveals the master key's length or content. */
export function createMasterKeyCheck(masterKey: string): (candidate: string) => boolean {
  const expected = new Bun.CryptoHasher('sha256').update(masterKey).digest()
  return (candidate) => timingSafeEqual(new Bun.CryptoHasher('sha256').update(candidate).digest(), expected)
}
