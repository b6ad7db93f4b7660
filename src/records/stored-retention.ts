import type { Store } from '../store/store'

const DAY_MS = 86_400_000

/**
 * Forgets the stored response ids (and the items that go with them) a provider has forgotten: `stored_responses`
 * would otherwise grow by every Responses call for as long as the gateway runs. OpenAI and xAI keep a stored
 * response 30 days; the retention (`responses_retention_days`) is set past that, so a chain is never cut here
 * before the provider forgets it; a container (OpenAI forgets one idle for minutes) goes likewise, and so does a
 * chat answer's audio (kept for hours). Conversations,
 * and their turns' items, have no such TTL: kept (see
 * EXPIRING_STORED_IDS). Pruned as the request log is: at startup in the background, then hourly, in batches.
 */
export class StoredResponseRetention {
  private readonly pruner: Timer
  private stopped = false

  constructor(private readonly store: Pick<Store, 'pruneStoredResponses'>, private readonly retentionDays: number) {
    void this.pruneOld()
    this.pruner = setInterval(() => void this.pruneOld(), 3_600_000)
    this.pruner.unref()
  }

  /** Deletes the rows older than the retention (0 keeps them), without holding up requests. Returns how many went. */
  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    try {
      return await this.store.pruneStoredResponses(now - this.retentionDays * DAY_MS, () => this.stopped)
    } catch (error) {
      console.error('[tollgate] stored-response prune failed', error)
      return 0
    }
  }

  stop(): void {
    clearInterval(this.pruner)
    this.stopped = true
  }
}
