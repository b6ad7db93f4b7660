/** The ledger counts integer micro-USD: no floating point ever accumulates in the database. */
export const MICROS_PER_USD = 1_000_000

/**
 * No single request may hold or cost more than this ($1,000,000). Real requests are far below it; a
 * bound keeps every amount, and every sum of amounts, an exact integer in JavaScript and in SQLite,
 * whatever a client puts in `max_tokens` or a provider reports as usage.
 */
export const MAX_REQUEST_MICROS = 1_000_000 * MICROS_PER_USD

const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD)

/**
 * The amount in micro-USD when it is a whole number of them, else null. A decimal amount such as 0.123456
 * is not exact in binary (× 1e6 gives 123455.99999999999), so a few units in the last place are forgiven.
 */
export function wholeMicros(usd: number): number | null {
  const scaled = usd * MICROS_PER_USD
  const whole = Math.round(scaled)
  return Math.abs(scaled - whole) <= Math.max(1e-9, Math.abs(scaled) * 8 * Number.EPSILON) ? whole : null
}
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD
export const optionalUsdToMicros = (usd: number | null | undefined): number | null | undefined =>
  usd === undefined ? undefined : usd === null ? null : usdToMicros(usd)
export const optionalMicrosToUsd = (micros: number | null): number | null => (micros === null ? null : microsToUsd(micros))
