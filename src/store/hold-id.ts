const randomWords = new Uint32Array(2)

/**
 * A random positive integer below 2^53: exact in JavaScript, as a SQLite rowid and as a Postgres bigint.
 * A random id is never handed out again the way SQLite reuses the highest rowid once it is deleted, so a
 * late settlement cannot land on a newer hold.
 */
export function randomHoldId(): number {
  crypto.getRandomValues(randomWords)
  return (randomWords[0]! & 0x1f_ffff) * 0x1_0000_0000 + randomWords[1]! + 1
}
