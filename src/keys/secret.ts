import { timingSafeEqual } from 'node:crypto'

/** Every virtual key starts with this, so it is recognisable in a leak scan and never mistaken for a provider's key. */
const KEY_PREFIX = 'tg-'
const RANDOM_BYTES = 32
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6

/**
 * Text a client sent (a path: a key pasted into an SDK's base URL, a scraper's token in its metrics path; a model
 * name: an SDK's model and key settings swapped) with every virtual key and the configured secrets (the master key,
 * the metrics token) cut out, for the logs and the records, which keep key ids, never keys. The configured secrets first: one that holds `tg-` and 8 key
 * characters would otherwise be cut only from there on.
 */
export function withoutKeys(text: string, secrets: readonly (string | undefined)[]): string {
  let cut = text
  for (const secret of secrets) {
    if (!secret) continue
    for (const spelling of pathSpellings(secret)) {
      if (cut.includes(spelling)) cut = cut.replaceAll(spelling, '[redacted]')
      if (cut.includes('%')) cut = withoutEncoded(cut, spelling)
    }
  }
  return cut.replace(/tg-[A-Za-z0-9_-]{8,}/g, `${KEY_PREFIX}[redacted]`)
}

/**
 * Whether text holds a configured secret or a whole virtual key (`tg-` and the 43 characters of its 32 random bytes,
 * not a part of a longer word). Stricter than what `withoutKeys` cuts from a log: this refuses a request, and a
 * model name may hold `tg-` and a few characters of its own.
 */
export function holdsKey(text: string, secrets: readonly (string | undefined)[]): boolean {
  if (WHOLE_KEY.test(text)) return true
  return secrets.some((secret) => !!secret && pathSpellings(secret).some((spelling) => text.includes(spelling) || (text.includes('%') && withoutEncoded(text, spelling) !== text)))
}
/**
 * `tg-` and exactly the 43 characters `generateKey` writes, neither inside a word nor running on: a hyphenated model
 * name (a fine-tune's suffix `tg-support-ticket-router-…`) is as long by chance only. Not also looked up among the
 * stored keys: a revoked key, or one of another deployment, is a secret to keep from the upstream and the records
 * too, and this runs, synchronously, on every request's model name.
 */
const WHOLE_KEY = /(?<![A-Za-z0-9])tg-[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/

/**
 * The secret, and what a URL parser leaves of it in a path, when that differs: a `\` read as `/`, and all of it
 * before a `?` or `#` (the rest is the query or the fragment) — unless that part is too short to be told from
 * an ordinary path, and too short to be worth much to anyone who reads the log.
 */
function pathSpellings(secret: string): string[] {
  let spellings = spellingsOf.get(secret)
  if (spellings === undefined) {
    const inPath = secret.split(/[?#]/, 1)[0]!.replaceAll('\\', '/')
    spellings = inPath !== secret && inPath.length >= MIN_CUT_SPELLING ? [secret, inPath] : [secret]
    spellingsOf.set(secret, spellings)
  }
  return spellings
}
const MIN_CUT_SPELLING = 16
/** By secret: the configured ones are few and fixed, and this runs for every request's log row. */
const spellingsOf = new Map<string, string[]>()

/**
 * `text` without `secret` spelled with percent-escapes: a URL parser encodes characters a generated key may
 * hold (`^ { } | \` " < >`), and a client may encode any other. Searched in the text's bytes as escapes
 * decode them, and cut from the text as written, so that nothing else is decoded (a `%00` stays an escape);
 * a `%` that starts no escape is itself. Virtual keys need none of this: their characters are never encoded.
 */
function withoutEncoded(text: string, secret: string): string {
  let bytes = ''
  // Where, in `text`, the character or escape that gave each byte starts; and the text's end.
  const from: number[] = []
  for (let i = 0; i < text.length; ) {
    const code = text.charCodeAt(i)
    const escape = code === 37 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))
    const spelled = escape ? 3 : text.codePointAt(i)! > 0xffff ? 2 : 1
    const decoded = escape ? String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16))
      : code < 0x80 ? text[i]!
      : Buffer.from(text.slice(i, i + spelled)).toString('latin1')
    for (let b = 0; b < decoded.length; b++) from.push(i)
    bytes += decoded
    i += spelled
  }
  from.push(text.length)
  const wanted = Buffer.from(secret).toString('latin1')
  let out = ''
  let kept = 0
  for (let at = bytes.indexOf(wanted); at !== -1; at = bytes.indexOf(wanted, at + wanted.length)) {
    out += text.slice(kept, from[at]) + '[redacted]'
    kept = from[at + wanted.length]!
  }
  return kept === 0 ? text : out + text.slice(kept)
}

interface NewKey {
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

const MASTER_KEY_MIN_LENGTH = 32
/** The longest key the console's sign-in takes (its body is limited before it is read): a longer master key could never sign in. */
export const MASTER_KEY_MAX_LENGTH = 512
const MIN_DISTINCT_CHARACTERS = 8

/** The length of the shortest block the key is made of, repeated (`abcabcab` → 3): KMP's prefix function, linear. */
function period(key: string): number {
  const border = new Int32Array(key.length)
  for (let i = 1, k = 0; i < key.length; i++) {
    while (k > 0 && key[i] !== key[k]) k = border[k - 1]!
    if (key[i] === key[k]) k++
    border[i] = k
  }
  return key.length - (key.length ? border[key.length - 1]! : 0)
}

/**
 * Why a master key is refused, or null. Length alone lets `aaaa…` through. A key made by a random generator
 * (`openssl rand -base64 32`, or `-hex 16`) passes each rule with room to spare (a 32-character hex key has
 * fewer than 8 distinct characters about once in a million); a typed or patterned one does not:
 * - at least 32 characters, and at most 512 (what the console's sign-in takes);
 * - no whitespace at all: a client sends a key as one token (`Authorization: Bearer <key>`), so a key padded
 *   by a file or a shell quote could never be presented as configured;
 * - at least 8 distinct characters;
 * - not a shorter block repeated (`password1password1…`);
 * - not mostly runs: at most three quarters of its characters equal to, or the one after, the one before
 *   (`aaaa`, `abcd`, `1234`).
 */
export function masterKeyWeakness(key: string): string | null {
  if (/\s/.test(key))
    return key.trim() === key
      ? 'must not contain whitespace: a client sends the key as one token'
      : 'must not start or end with whitespace (a space or newline left by a file or a shell quote?): a client sends the key without it'
  if (key.length < MASTER_KEY_MIN_LENGTH) return `must be at least ${MASTER_KEY_MIN_LENGTH} characters`
  if (key.length > MASTER_KEY_MAX_LENGTH) return `must be at most ${MASTER_KEY_MAX_LENGTH} characters: the console's sign-in takes no longer key`
  const weak = 'is too weak: generate one, e.g. with `openssl rand -base64 36`'
  if (new Set(key).size < MIN_DISTINCT_CHARACTERS) return `${weak} (it has fewer than ${MIN_DISTINCT_CHARACTERS} distinct characters)`
  if (period(key) * 2 <= key.length) return `${weak} (it is a shorter sequence repeated)`
  let runs = 0
  for (let i = 1; i < key.length; i++) {
    const step = key.charCodeAt(i) - key.charCodeAt(i - 1)
    if (step === 0 || step === 1) runs++
  }
  if (runs * 4 > (key.length - 1) * 3) return `${weak} (it is mostly runs of the same or consecutive characters)`
  return null
}
