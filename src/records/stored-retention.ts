import type { Store } from '../store/store'
import { PruneSchedule } from './prune-schedule'

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
  private readonly pruning: PruneSchedule
  private stopped = false

  constructor(private readonly store: Pick<Store, 'pruneStoredResponses'>, private readonly retentionDays: number) {
    this.pruning = new PruneSchedule('stored-response', () => this.pruneOld())
  }

  /** Deletes the rows older than the retention (0 keeps them), without holding up requests. Returns how many went. */
  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    return this.store.pruneStoredResponses(now - this.retentionDays * DAY_MS, () => this.stopped)
  }

  stop(): void {
    this.pruning.stop()
    this.stopped = true
  }
}
