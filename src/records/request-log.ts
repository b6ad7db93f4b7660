import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'
import { deleteInBatches, MAINTENANCE_BATCH } from '../db/maintenance'
import { knownMethod } from '../http/route-patterns'
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

/** Requests refused before a key is known share one row per source, route, method and status for this long. */
export const REFUSAL_INTERVAL_MS = 60_000
/** Distinct aggregates one interval keeps apart; past it, new sources are counted together under `*`. */
const MAX_AGGREGATES = 10_000
/** An aggregate's row is brought up to its count at most this often (and whenever the log is read). */
const SYNC_MS = 1_000
/** An unknown path, kept as the first sample of its aggregate, is cut to this many characters. */
export const REFUSED_ROUTE_LENGTH = 64
const UNMATCHED = '\u0000unmatched'

/** One aggregate row of the current interval, and the count its row will be brought up to. */
interface Aggregate {
  id?: number
  count: number
  lastAt: number
}

/**
 * The API request log (SPEC §8): appended through the write queue, pruned by age.
 *
 * A request with a key (or the master key) gets a row of its own. A request refused before any key was
 * known costs its sender nothing, so a row each would let one client grow the log without bound; those
 * are counted instead, per source (an IPv4 address, an IPv6 /64), route pattern, method and status, one
 * row per interval: the first request inserts the row, and later ones raise its `count` and `last_at` in
 * memory, written at most once a second per row (and at once before the log is read, and on stop). So a
 * flood writes a bounded number of rows, and a bounded number of page writes per second, whatever its rate.
 */
export class RequestLog {
  private readonly insert: Statement<unknown, [number, string, string, string, number, number, string | null, string | null, string | null]>
  private readonly insertAggregate: Statement<unknown, [number, string, string, string, number, number, string | null]>
  private readonly updateAggregate: Statement<unknown, [number, number, number]>
  private readonly prune
  private readonly pruner: Timer
  private interval = -1
  private aggregates = new Map<string, Aggregate>()
  /** Aggregates counted past what their row says. */
  private readonly unsynced = new Set<Aggregate>()
  private syncTimer: Timer | null = null
  private stopped = false

  /**
   * `shared`: the Postgres store, where the rows of requests with a key go (and are pruned), so that every
   * replica's are in one log; refusals' aggregates stay in `db`, this process's own (not yet on Postgres).
   */
  constructor(
    db: Database,
    private readonly queue: WriteQueue,
    private readonly retentionDays: number,
    private readonly shared?: Pick<Store, 'appendRequestLog' | 'pruneRequestLog'>,
  ) {
    this.insert = db.prepare(
      `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.insertAggregate = db.prepare(
      `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, count, last_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?1)`,
    )
    this.updateAggregate = db.prepare('UPDATE api_request_log SET count = ?, last_at = ? WHERE id = ?')
    this.prune = db.prepare(
      `DELETE FROM api_request_log WHERE id IN (SELECT id FROM api_request_log WHERE created_at < $cutoff ORDER BY created_at LIMIT ${MAINTENANCE_BATCH})`,
    )
    // In the background from the start: the port opens while a long retention catches up.
    void this.pruneOld()
    this.pruner = setInterval(() => void this.pruneOld(), 3_600_000)
    this.pruner.unref()
  }

  append(e: RequestLogEntry): void {
    if (this.shared) return this.shared.appendRequestLog(e)
    // Bound by position: measurably cheaper than by name, once per request.
    this.queue.defer(() => this.insert.run(e.createdAt, e.requestId, e.method, e.route, e.status, e.latencyMs, e.clientIp, e.keyId, e.userId))
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
    let source = refusalSource(e.clientIp)
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
    const created: Aggregate = { count: 1, lastAt: e.createdAt }
    this.aggregates.set(key, created)
    // A catch-all pattern (the CORS preflight's `/*`) says nothing: the first path says more.
    const route = pattern && !pattern.includes('*') ? pattern : e.route.slice(0, REFUSED_ROUTE_LENGTH)
    this.queue.defer(() => {
      created.id = Number(this.insertAggregate.run(e.createdAt, e.requestId, method, route, e.status, e.latencyMs, source).lastInsertRowid)
    })
  }

  /** Queues the counts of every aggregate row behind its count. Readers of the log call it (then flush the queue). */
  readonly sync = (): void => {
    if (this.syncTimer !== null) clearTimeout(this.syncTimer)
    this.syncTimer = null
    for (const aggregate of this.unsynced) {
      const { count, lastAt } = aggregate
      this.queue.defer(() => {
        // Its insert failed (and was reported): nothing to bring up to date.
        if (aggregate.id !== undefined) this.updateAggregate.run(count, lastAt, aggregate.id)
      })
    }
    this.unsynced.clear()
  }

  /**
   * Deletes rows older than the retention period (0 keeps everything), in small batches that leave the
   * request thread free between them. Returns how many went. The WAL's space comes back without a
   * checkpoint on this thread (see src/db/checkpointer.ts).
   */
  async pruneOld(now = Date.now()): Promise<number> {
    if (this.retentionDays === 0) return 0
    const cutoff = now - this.retentionDays * DAY_MS
    this.shared?.pruneRequestLog(cutoff).catch((error) => console.error('[tollgate] request-log prune failed', error))
    return deleteInBatches(() => this.prune.run({ cutoff }).changes, () => this.stopped)
  }

  /** Stops pruning and writes the counts; refusals still answered while the server drains are queued at once. */
  stop(): void {
    clearInterval(this.pruner)
    this.stopped = true
    this.sync()
  }
}

/**
 * The source a refusal is counted under: an IPv4 address as it is (an IPv4-mapped IPv6 one too), an IPv6
 * address by its /64, which is one subscriber's allocation (a single host may use every address in it).
 * Anything else (a trusted proxy's odd header) is kept, cut short.
 */
export function refusalSource(ip: string | null): string | null {
  if (ip === null || !ip.includes(':')) return ip
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped) return mapped[1]!
  const groups = ipv6Groups(ip.replace(/%.*$/, ''))
  if (!groups) return ip.slice(0, 64)
  const prefix = groups.slice(0, 4).map((g) => g.toString(16))
  // Trailing zero groups of the prefix are written as `::`, as an address would be.
  while (prefix.length > 0 && prefix.at(-1) === '0') prefix.pop()
  return `${prefix.join(':')}::/64`
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split('::')
  if (halves.length > 2) return null
  const parse = (part: string): number[] | null => {
    if (part === '') return []
    const out: number[] = []
    for (const g of part.split(':')) {
      // An embedded IPv4 address (the last 32 bits) lies past the /64 prefix: its value does not matter here.
      if (g.includes('.')) out.push(0, 0)
      else if (/^[0-9a-f]{1,4}$/i.test(g)) out.push(parseInt(g, 16))
      else return null
    }
    return out
  }
  const head = parse(halves[0]!)
  const tail = halves.length === 2 ? parse(halves[1]!) : []
  if (!head || !tail) return null
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null
  return [...head, ...Array<number>(missing).fill(0), ...tail]
}
