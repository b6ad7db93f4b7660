/**
 * Rows nobody waits for (settlements, request-log rows), sent a few milliseconds' worth at a time in one
 * statement. A batch the database refuses goes back to the front of the queue and is sent again later
 * (`retry`), or is reported and dropped.
 */
export class BatchWriter<T> {
  private queued: T[] = []
  private sending: Promise<void> | null = null
  private timer: ReturnType<typeof setTimeout> | null = null
  private closed = false

  constructor(
    private readonly write: (rows: T[]) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
    private readonly options: { retry: boolean; lingerMs?: number; retryMs?: number; what: string },
  ) {}

  /** While `heldBack` says so, the linger's end sends nothing: another transaction will `take` the rows (and `nudge` when it is done). */
  private heldBack = () => false

  holdBackWhile(heldBack: () => boolean): void {
    this.heldBack = heldBack
  }

  push(row: T): void {
    if (this.closed) {
      this.onError(new Error(`${this.options.what} queued after the store was closed; dropped`))
      return
    }
    this.queued.push(row)
    this.nudge()
  }

  /** Starts the linger if rows wait and nothing is under way. */
  nudge(): void {
    if (this.timer === null && this.sending === null && this.queued.length > 0) this.timer = setTimeout(this.lingered, this.options.lingerMs ?? 5)
  }

  private readonly lingered = () => {
    this.timer = null
    if (!this.heldBack()) void this.send().catch(() => {})
  }

  private send(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    if (this.sending) return this.sending
    if (this.queued.length === 0) return Promise.resolve()
    const batch = this.queued
    this.queued = []
    this.sending = this.write(batch).then(
      () => {
        this.sending = null
        // Rows that came meanwhile go at once, unless another transaction is about to carry them: then the
        // linger's end looks again (and that transaction nudges when it is done).
        if (this.queued.length > 0 && !this.heldBack()) return this.send()
        this.nudge()
      },
      (error) => {
        this.sending = null
        this.onError(error)
        if (this.options.retry) {
          this.queued = batch.concat(this.queued)
          if (!this.closed) this.timer = setTimeout(() => void this.send().catch(() => {}), this.options.retryMs ?? 500)
        }
        throw error
      },
    )
    return this.sending
  }

  /**
   * Hands over the rows queued and not yet being sent, for another transaction to write (a reservation
   * batch carries the settlements with it); `putBack` returns them if that transaction did not commit.
   */
  take(): T[] {
    const rows = this.queued
    this.queued = []
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    return rows
  }

  putBack(rows: T[]): void {
    if (rows.length === 0) return
    if (this.closed) {
      this.onError(new Error(`${rows.length} ${this.options.what}(s) not written before the store was closed; dropped`))
      return
    }
    this.queued = rows.concat(this.queued)
    if (this.timer === null && this.sending === null) this.timer = setTimeout(() => void this.send().catch(() => {}), this.options.retryMs ?? 500)
  }

  /** Resolves once everything queued so far is written; rejects when the database refuses it. */
  async flush(): Promise<void> {
    while (this.sending || this.queued.length > 0) await (this.sending ?? this.send())
  }

  /** Sends what is queued (once) and refuses anything later. */
  async close(): Promise<void> {
    await this.flush().catch(() => {})
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
  }
}
