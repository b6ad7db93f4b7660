import { logBackgroundFailure } from '../log/background-failure'

const HOUR_MS = 3_600_000
const FIRST_RETRY_MS = 60_000

const inWords = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`)

/**
 * When a retention's prune runs: at once, in the background (the port opens while a long retention catches up),
 * then an hour after each one ends. A prune that failed (the database not reachable yet at startup, a lock wait
 * that timed out) is tried again a minute later, then after two, four… up to the hour: waiting the full hour would
 * let an install whose Postgres came up after it keep an hour's excess of rows for nothing. Each run starts after
 * the last ended, so a prune longer than the wait never runs beside the next.
 */
export class PruneSchedule {
  private timer: Timer | null = null
  private retryMs: number
  private stopped = false

  constructor(
    private readonly what: string,
    private readonly prune: () => Promise<unknown>,
    private readonly times = { everyMs: HOUR_MS, firstRetryMs: FIRST_RETRY_MS },
  ) {
    this.retryMs = times.firstRetryMs
    void this.run()
  }

  private readonly run = async (): Promise<void> => {
    let wait = this.times.everyMs
    try {
      await this.prune()
      this.retryMs = this.times.firstRetryMs
    } catch (error) {
      logBackgroundFailure(`${this.what} prune`, error, `trying again in ${inWords(this.retryMs)}`)
      wait = this.retryMs
      this.retryMs = Math.min(this.retryMs * 2, this.times.everyMs)
    }
    if (this.stopped) return
    this.timer = setTimeout(this.run, wait)
    this.timer.unref()
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
  }
}
