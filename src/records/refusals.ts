import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
/** Client-chosen names: past this many distinct unpriced models, new ones are no longer recorded. */
export const MAX_UNPRICED_MODELS = 500

/**
 * What the console's overview shows of refusals: a count per hour and error code, and the models of
 * configured providers that were asked for while unpriced. Both are appended through the write queue,
 * like the request log, and neither grows with what a client sends.
 */
export class RefusalRecord {
  private readonly count: Statement<unknown, [number, string]>
  private readonly unpriced: Statement<unknown, [string, number, number]>
  private readonly prune
  private readonly pruner: Timer

  constructor(db: Database, private readonly queue: WriteQueue, private readonly retentionDays: number) {
    this.count = db.prepare(
      'INSERT INTO refusal_counts (hour, code, count) VALUES (?, ?, 1) ON CONFLICT (hour, code) DO UPDATE SET count = count + 1',
    )
    this.unpriced = db.prepare(
      `INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at)
       SELECT ?1, 1, ?2, ?2 WHERE (SELECT count(*) FROM unpriced_models) < ?3 OR EXISTS (SELECT 1 FROM unpriced_models WHERE model = ?1)
       ON CONFLICT (model) DO UPDATE SET requests = requests + 1, last_seen_at = ?2`,
    )
    this.prune = db.prepare('DELETE FROM refusal_counts WHERE hour < $cutoff')
    this.pruneOld()
    this.pruner = setInterval(() => this.pruneOld(), HOUR_MS)
    this.pruner.unref()
  }

  /** Budget and pricing refusals (402), forbidden (403) and rate limited (429): what an operator acts on. */
  refused(code: string, now = Date.now()): void {
    this.queue.defer(() => this.count.run(Math.floor(now / HOUR_MS) * HOUR_MS, code))
  }

  /** `model` is canonical (`provider:model`) and its provider configured: the caller resolved it. */
  unpricedModelAsked(model: string, now = Date.now()): void {
    this.queue.defer(() => this.unpriced.run(model, now, MAX_UNPRICED_MODELS))
  }

  pruneOld(now = Date.now()): number {
    if (this.retentionDays === 0) return 0
    return this.prune.run({ cutoff: now - this.retentionDays * DAY_MS }).changes
  }

  stop(): void {
    clearInterval(this.pruner)
  }
}
