/**
 * Request-log rows a store keeps queued while the database takes no writes (a full disk, a read-only file or
 * server, Postgres down, a lock held for minutes). Every request, each refused 503 meanwhile, still queues its row:
 * kept without a bound, a long outage under load would take the process's memory, and the settlements queued
 * beside them with it. Around 10 MB of rows.
 */
export const MAX_QUEUED_LOG_ROWS = 50_000

/**
 * Refusal counts the Postgres store keeps queued (one per refusal) while their tables are locked; see
 * MAX_QUEUED_LOG_ROWS.
 */
export const MAX_QUEUED_REFUSAL_COUNTS = 50_000

/**
 * How many rows of one kind nothing's money depends on a queue keeps while the database takes none of them, and
 * what it dropped: past `max` the oldest go, counted (/metrics) and said once until the database takes writes
 * again, not once a row. Settlements are never capped: no hold is taken while the database takes no writes, so
 * they are bounded by the holds in flight.
 */
export class QueueCap {
  /** Rows dropped so far. */
  dropped = 0
  private said = false

  constructor(
    readonly max: number,
    private readonly what: string,
    /** The /metrics counter that shows `dropped`. */
    private readonly metric: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Drops the oldest of `rows` (oldest first) past `max`, in place. */
  trim(rows: unknown[]): void {
    const over = rows.length - this.max
    if (over <= 0) return
    // Array.prototype.shift is constant-time in JavaScriptCore; a splice of one is not.
    if (over === 1) rows.shift()
    else rows.splice(0, over)
    this.drop(over)
  }

  /** Counts `n` rows lost to the database's state (not refused for their own data). */
  drop(n: number): void {
    this.dropped += n
    if (this.said) return
    this.said = true
    this.onError(
      new Error(`the database takes no writes: ${this.what}s are being dropped (counted in ${this.metric}; at most the newest ${this.max} are kept queued) until it takes writes again`),
    )
  }

  /** The database took writes again: the next drop is said again. */
  written(): void {
    this.said = false
  }
}
