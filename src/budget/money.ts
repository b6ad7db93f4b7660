/** The ledger counts integer micro-USD: no floating point ever accumulates in the database. */
export const MICROS_PER_USD = 1_000_000

/**
 * No single request may hold or cost more than this ($1,000,000). Real requests are far below it; a
 * bound keeps every amount, and every sum of amounts, an exact integer in JavaScript and in SQLite,
 * whatever a client puts in `max_tokens` or a provider reports as usage.
 */
export const MAX_REQUEST_MICROS = 1_000_000 * MICROS_PER_USD

export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD)
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD
export const optionalUsdToMicros = (usd: number | null | undefined): number | null | undefined =>
  usd === undefined ? undefined : usd === null ? null : usdToMicros(usd)
export const optionalMicrosToUsd = (micros: number | null): number | null => (micros === null ? null : microsToUsd(micros))
