/** The ledger counts integer micro-USD: no floating point ever accumulates in the database. */
export const MICROS_PER_USD = 1_000_000

export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD)
export const microsToUsd = (micros: number): number => micros / MICROS_PER_USD
export const optionalUsdToMicros = (usd: number | null | undefined): number | null | undefined =>
  usd === undefined ? undefined : usd === null ? null : usdToMicros(usd)
export const optionalMicrosToUsd = (micros: number | null): number | null => (micros === null ? null : microsToUsd(micros))
