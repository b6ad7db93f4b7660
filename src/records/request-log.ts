import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'

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

/** The API request log (SPEC §8): appended through the write queue, pruned by age. */
export class RequestLog {
  private readonly insert: Statement<unknown, [number, string, string, string, number, number, string | null, string | null, string | null]>
  private readonly prune
  private readonly pruner: Timer

  constructor(db: Database, private readonly queue: WriteQueue, private readonly retentionDays: number) {
    this.insert = db.prepare(
      `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.prune = db.prepare('DELETE FROM api_request_log WHERE created_at < $cutoff')
    this.pruneOld()
    this.pruner = setInterval(() => this.pruneOld(), 3_600_000)
    this.pruner.unref()
  }

  append(e: RequestLogEntry): void {
    // Bound by position: measurably cheaper than by name, once per request.
    this.queue.defer(() => this.insert.run(e.createdAt, e.requestId, e.method, e.route, e.status, e.latencyMs, e.clientIp, e.keyId, e.userId))
  }

  /** Deletes rows older than the retention period (0 keeps everything). Returns how many went. */
  pruneOld(now = Date.now()): number {
    if (this.retentionDays === 0) return 0
    return this.prune.run({ cutoff: now - this.retentionDays * DAY_MS }).changes
  }

  stop(): void {
    clearInterval(this.pruner)
  }
}
