import type { RefusalRows } from '../store/store'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Client-chosen names: past this many distinct unpriced models, new ones are no longer recorded. */
export const MAX_UNPRICED_MODELS = 500

/**
 * What the console's overview shows of refusals: a count per hour and error code, and the models of
 * configured providers that were asked for while unpriced. Both are written in the background by the
 * store, like the request log, added up across processes, and neither grows with what a client sends.
 */
export class RefusalRecord {
  private readonly pruner: Timer

  constructor(private readonly rows: RefusalRows, private readonly retentionDays: number) {
    void this.pruneOld()
    this.pruner = setInterval(() => void this.pruneOld(), HOUR_MS)
    this.pruner.unref()
  }

  /** Budget and pricing refusals (402), forbidden (403) and rate limited (429): what an operator acts on. */
  refused(code: string, now = Date.now()): void {
    this.rows.count(Math.floor(now / HOUR_MS) * HOUR_MS, code)
  }

  /** `model` is canonical (`provider:model`) and its provider configured: the caller resolved it. */
  unpricedModelAsked(model: string, now = Date.now()): void {
    this.rows.unpriced(model, now, MAX_UNPRICED_MODELS)
  }

  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    return this.rows.prune(now - this.retentionDays * DAY_MS).catch((error) => {
      console.error('[tollgate] refusal-count prune failed', error)
      return 0
    })
  }

  stop(): void {
    clearInterval(this.pruner)
  }
}
