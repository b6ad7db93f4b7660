import { clientSource } from '../http/client-source'
import { knownMethod } from '../http/route-patterns'
import type { RefusalAggregate, Store } from '../store/store'
import { PruneSchedule } from './prune-schedule'

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

/** Requests refused before a key is known share one row per source, route, method and status for this long. */
const REFUSAL_INTERVAL_MS = 60_000
/** Distinct aggregates one interval keeps apart; past it, new sources are counted together under `*`. */
const MAX_AGGREGATES = 10_000
/** An aggregate's row is brought up to its count at most this often (and whenever the log is read). */
const SYNC_MS = 1_000
/** An unknown path, kept as the first sample of its aggregate, is cut to this many characters. */
const REFUSED_ROUTE_LENGTH = 64
const UNMATCHED = '\u0000unmatched'

/**
 * The API request log (SPEC §8): appended in the background by the store, pruned by age.
 *
 * A request with a key (or the master key) gets a row of its own. A request refused before any key was
 * known costs its sender nothing, so a row each would let one client grow the log without bound; those
 * are counted instead, per source (an IPv4 address, an IPv6 /64), route pattern, method and status, one
 * row per interval: the first request makes the row, and later ones raise its `count` and `last_at` in
 * memory, written at most once a second per row (and at once before the log is read, and on stop). So a
 * flood writes a bounded number of rows, and a bounded number of writes per second, whatever its rate.
 * Several processes counting the same aggregate add up in one row on Postgres (the store's upsert).
 */
export class RequestLog {
  private readonly pruning: PruneSchedule
  private interval = -1
  private aggregates = new Map<string, RefusalAggregate>()
  /** Aggregates counted past what their row says. */
  private readonly unsynced = new Set<RefusalAggregate>()
  private syncTimer: Timer | null = null
  private stopped = false

  constructor(
    private readonly store: Pick<Store, 'appendRequestLog' | 'storeRefusals' | 'pruneRequestLog' | 'alerts'>,
    private readonly retentionDays: number,
  ) {
    this.pruning = new PruneSchedule('audit-retention', () => this.pruneOld())
  }

  append(e: RequestLogEntry): void {
    this.store.appendRequestLog(e)
  }

  /**
   * A request refused before a key was known, counted into its source's row for this interval. `pattern`
   * is the route it would have reached; with none (or a catch-all), every such path of the source shares
   * one row, which shows the first one, cut short.
   */
  appendRefusal(e: RequestLogEntry, pattern: string | undefined): void {
    const interval = Math.floor(e.createdAt / REFUSAL_INTERVAL_MS)
    if (interval !== this.interval) {
      this.interval = interval
      this.aggregates = new Map()
    }
    const method = knownMethod(e.method)
    let source = clientSource(e.clientIp)
    let key = `${source}\u0000${method}\u0000${pattern ?? UNMATCHED}\u0000${e.status}`
    let aggregate = this.aggregates.get(key)
    if (!aggregate && this.aggregates.size >= MAX_AGGREGATES) {
      source = '*'
      key = `*\u0000${method}\u0000${pattern ?? UNMATCHED}\u0000${e.status}`
      aggregate = this.aggregates.get(key)
    }
    if (aggregate) {
      aggregate.count++
      aggregate.lastAt = Math.max(aggregate.lastAt, e.createdAt)
      this.unsynced.add(aggregate)
      if (this.stopped) this.sync()
      else if (this.syncTimer === null) {
        this.syncTimer = setTimeout(this.sync, SYNC_MS)
        this.syncTimer.unref()
      }
      return
    }
    // A catch-all pattern (the CORS preflight's `/*`) says nothing: the first path says more.
    const route = pattern && !pattern.includes('*') ? pattern : e.route.slice(0, REFUSED_ROUTE_LENGTH)
    const created: RefusalAggregate = {
      key: JSON.stringify([interval, source, method, pattern ?? null, e.status]),
      first: { ...e, method, route, clientIp: source, keyId: null, userId: null },
      count: 1,
      lastAt: e.createdAt,
      stored: 0,
    }
    this.aggregates.set(key, created)
    this.store.storeRefusals(created)
  }

  /** Hands the store the counts of every aggregate row behind its count. Readers of the log call it (then flush the store). */
  readonly sync = (): void => {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer)
    this.syncTimer = null
    for (const aggregate of this.unsynced) this.store.storeRefusals(aggregate)
    this.unsynced.clear()
  }

  /**
   * The audit retention's job: deletes request-log rows older than the retention period (0 keeps everything), then
   * the alerts past it that are done with (AlertRows.prune), without holding up requests. Returns how many
   * request-log rows went.
   */
  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    const cutoff = now - this.retentionDays * DAY_MS
    const pruned = await this.store.pruneRequestLog(cutoff, () => this.stopped)
    await this.store.alerts.prune(cutoff, () => this.stopped)
    return pruned
  }

  /** Stops pruning and writes the counts; refusals still answered while the server drains are handed on at once. */
  stop(): void {
    this.pruning.stop()
    this.stopped = true
    this.sync()
  }
}
