/**
 * No request reaches a billion tokens (a hundred times the largest context window). A provider reporting more
 * (5e18, 1e19) is read as that many, so that the ledger's counts and their sums stay exact integers within the
 * 64-bit columns of both stores: SQLite's sum() raises "integer overflow" past them, Postgres's bigint refuses them.
 */
export const MAX_TOKEN_COUNT = 1_000_000_000

/**
 * A count as a row records it: from 0 to MAX_TOKEN_COUNT, an infinity as its bound. Versions before 77360a0
 * recorded the provider's count as it came; this is how such a count is read wherever it is carried over.
 */
export const recordedCount = (n: number): number => (Number.isNaN(n) ? 0 : Math.min(MAX_TOKEN_COUNT, Math.max(0, n)))
