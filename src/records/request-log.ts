import type { Store } from '../store/store'

export interface RequestLogEntry {
  createdAt: number
  requestId: string
  method: string
  route: string
  status: number
  latencyMs: number
  clientIp: string | null
  keyId: string | null
  userId: string | null
}

const DAY_MS = 86_400_000

/** The API request log (SPEC §8): appended in the background (grouped with other writes), pruned by age. */
export class RequestLog {
  private readonly pruner: Timer

  constructor(private readonly store: Pick<Store, 'appendRequestLog' | 'pruneRequestLog'>, private readonly retentionDays: number) {
    this.pruner = setInterval(() => void this.pruneOld().catch((error) => console.error('[tollgate] request-log prune failed', error)), 3_600_000)
    this.pruner.unref()
  }

  append(e: RequestLogEntry): void {
    this.store.appendRequestLog(e)
  }

  /** Deletes rows older than the retention period (0 keeps everything). Returns how many went. */
  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    return this.store.pruneRequestLog(now - this.retentionDays * DAY_MS)
  }

  stop(): void {
    clearInterval(this.pruner)
  }
}
