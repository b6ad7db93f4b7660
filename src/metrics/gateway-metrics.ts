import { MICROS_PER_USD } from '../budget/money'
import type { Checkpointer } from '../db/checkpointer'
import { knownMethod } from '../http/route-patterns'
import type { FreeCallSlots } from '../providers/free-call-slots'
import type { UpstreamSlots } from '../providers/upstream-slots'
import type { ChangeFeed } from '../redis/change-feed'
import type { RedisLink } from '../redis/link'
import type { SharedRateLimiter } from '../redis/rate-limiter'
import { droppedRows } from '../store/postgres/batch'
import { refusedAsReadOnly } from '../store/read-only'
import { Counter, CounterRead, Gauge, Histogram, OTHER, Registry } from './prometheus'

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/** How long a scrape waits for the alert-delivery counts: well within Prometheus' 10 s scrape timeout. */
const DELIVERY_COUNTS_WAIT_MS = 2_000

/**
 * What the gateway counts, served at /metrics in Prometheus text format. Every label takes values from a
 * bounded set: route patterns, known methods, statuses, error codes, configured providers, and models the
 * operator configured (`isConfiguredModel`); a model a client merely named is counted under `other`.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly requests = this.registry.register(new Counter('tollgate_http_requests_total', 'Requests answered, by route, method and status.'))
  readonly requestSeconds = this.registry.register(new Histogram('tollgate_http_request_duration_seconds', 'Time to answer (to the first byte for streams), by route.', SECONDS))
  readonly upstreamSeconds = this.registry.register(new Histogram('tollgate_upstream_duration_seconds', 'Provider call time until the answer was complete, by provider.', SECONDS))
  readonly tokens = this.registry.register(new Counter('tollgate_tokens_total', 'Tokens billed, by model and kind (prompt, completion, cached).'))
  readonly costUsd = this.registry.register(new Counter('tollgate_cost_usd_total', 'USD charged, by model.', { perUnit: MICROS_PER_USD }))
  readonly unbilledOutputTokens = this.registry.register(
    new Counter(
      'tollgate_unbilled_output_tokens_total',
      'Output tokens a usage reported past the max the provider was sent (cap-output on), or past those a sweep charged its hold for first, not charged, by provider and model.',
    ),
  )
  readonly unbilledInputTokens = this.registry.register(
    new Counter(
      'tollgate_unbilled_input_tokens_total',
      'Input tokens a usage reported past the input held for a request of text alone (cap-output on), or past those a sweep charged its hold for first, not charged, by provider and model.',
    ),
  )
  readonly settlements = this.registry.register(new Counter('tollgate_settlements_total', 'Holds settled, by status (ok, error, aborted, expired).'))
  readonly upstreamBusy = this.registry.register(new Counter('tollgate_upstream_busy_total', 'Requests refused with 503 upstream_busy: the upstream concurrency limit was reached.'))
  readonly freeCallsBusy = this.registry.register(
    new Counter('tollgate_free_calls_busy_total', 'Free calls (token counts, stored responses) refused with 503 upstream_busy: the share of the calls that hold nothing clients may take was reached.'),
  )
  readonly bodyReadBusy = this.registry.register(
    new Counter(
      'tollgate_body_read_busy_total',
      "Request bodies refused with 503 body_read_busy, by the limit reached: for large or chunked bodies being read the body read budget's (process) or one caller's quarter of it (caller), for bodies in flight counted at their memory 1.75 times the budget (process_in_flight) or one caller's three quarters of that (caller_in_flight).",
    ),
  )
  readonly refusals = this.registry.register(
    new Counter('tollgate_refusals_total', "Requests the gateway itself refused (a 4xx of its own), by error code (budget_exceeded, rate_limit_exceeded, pricing_required, …); a client gone is no refusal (status 499 in tollgate_http_requests_total)."),
  )
  readonly upstreamRefusals = this.registry.register(
    new Counter('tollgate_upstream_refusals_total', "A provider's own 4xx passed on to the client, by code (upstream_rate_limited, upstream_rejected)."),
  )

  /** Open holds and alert deliveries in the database as last read (`readReservations`, before each scrape). */
  private reservations = { n: 0, amount: 0 }
  private alertDeliveries = { pending: 0, failed: 0 }
  /** Whether the last scrape's reads of the database were answered. */
  private databaseUp = 1
  /** Whether the database answered the last scrape but takes no writes. */
  private databaseReadOnly = 0
  /** The alert deliveries pending and failed, read where the records queries run (off the request thread). */
  private countDeliveries: (() => Promise<{ pending: number; failed: number }>) | null = null
  /** The count running, which a scrape that comes meanwhile waits for (readDeliveries). */
  private counting: Promise<void> | null = null

  constructor(
    private readonly openReservations: () => Promise<{ n: number; amount: number }>,
    openHoldsHere: () => number,
    private readonly isConfiguredModel: (model: string) => boolean,
    /** Whether the database takes no writes, as /health tells it (`database: read_only`, Store.ping). */
    private readonly takesNoWrites: () => Promise<boolean> = async () => false,
  ) {
    this.registry.register(new Gauge('tollgate_holds_open', 'Holds taken by this process and not yet settled.', openHoldsHere))
    this.registry.register(new Gauge('tollgate_reservations_open', 'Open holds in the database, all processes.', () => this.reservations.n))
    this.registry.register(new Gauge('tollgate_reserved_usd', 'USD held by open holds in the database, all processes.', () => this.reservations.amount / 1e6))
    this.registry.register(
      new Gauge('tollgate_database_up', "Whether the database answered this scrape's reads (1) or not (0): the database-wide gauges are then as last read.", () => this.databaseUp),
    )
    this.registry.register(
      new Gauge(
        'tollgate_database_read_only',
        "Whether the database answered this scrape but takes no writes (1: /health's database: read_only, or a queued write it refused as read-only; every hold is refused) or takes them (0).",
        () => this.databaseReadOnly,
      ),
    )
    this.registry.register(
      new CounterRead('tollgate_store_rows_dropped_total', 'Background rows (settlements, request log) Postgres refused for what they held, even made storable: dropped, each logged.', () => droppedRows.count),
    )
  }

  /**
   * Reads the database-wide figures the gauges show (holds, alert deliveries) after `flushed` (the settlements
   * queued); the metrics route awaits it before rendering. A database that does not answer leaves them as last
   * read and says so (`tollgate_database_up` 0): the process's own counters are still scraped, the 503s it is
   * serving included, rather than the scrape failing as if the process were gone. One that answers but takes no
   * writes refuses the flush and still answers the reads: up, and read-only (`tollgate_database_read_only`). The
   * alert-delivery counts are read beside the holds, and a records reader that does not answer them is not the
   * database down (readDeliveries).
   */
  async readReservations(flushed: () => Promise<void> = async () => {}): Promise<void> {
    const refused = await flushed().then(
      () => null,
      (error: unknown) => error,
    )
    const [reservations] = await Promise.all([this.openReservations().catch(() => null), this.readDeliveries()])
    if (reservations) this.reservations = reservations
    this.databaseUp = reservations ? 1 : 0
    this.databaseReadOnly = this.databaseUp === 1 && (refusedAsReadOnly(refused) || (await this.takesNoWrites().catch(() => false))) ? 1 : 0
  }

  /**
   * Reads the alert-delivery counts where the records queries run, for at most DELIVERY_COUNTS_WAIT_MS. A reader
   * that fails or is slow (behind other reads, stuck) is not the database down: the counts are left as last read,
   * and a count still running when the next scrape comes is waited for again rather than queued a second time.
   */
  private async readDeliveries(): Promise<void> {
    if (!this.countDeliveries) return
    const counted = (this.counting ??= this.countDeliveries()
      .then((deliveries) => {
        this.alertDeliveries = deliveries
      })
      .catch(() => {})
      .finally(() => (this.counting = null)))
    let timer: Timer | undefined
    await Promise.race([counted, new Promise((resolve) => (timer = setTimeout(resolve, DELIVERY_COUNTS_WAIT_MS)))])
    clearTimeout(timer)
  }

  /** The store's background rows dropped while the database took none (Store.droppedWhileUnwritable). */
  watchStoreQueues(dropped: () => { logRows: number; refusalCounts: number }): void {
    this.registry.register(
      new CounterRead(
        'tollgate_log_rows_dropped_total',
        'Request-log rows not written because the database took no writes: dropped, the oldest first, past the rows a store keeps queued meanwhile, or not sent again after a failed write (Postgres).',
        () => dropped().logRows,
      ),
    )
    this.registry.register(
      new CounterRead(
        'tollgate_refusal_counts_dropped_total',
        "Refusals not added to the console's refusal counts because the database took no writes (Postgres keeps one queued row a refusal).",
        () => dropped().refusalCounts,
      ),
    )
  }

  watchRedis(link: RedisLink, limits: { ip: SharedRateLimiter; key: SharedRateLimiter }, changes: ChangeFeed): void {
    const r = this.registry
    r.register(new Gauge('tollgate_redis_up', 'Whether this process reaches Redis (1) or not (0): rate limits are shared only while it does.', () => (link.up ? 1 : 0)))
    r.register(new CounterRead('tollgate_redis_outages_total', 'Times this process lost Redis (or never reached it at startup).', () => link.outages))
    r.register(new CounterRead('tollgate_rate_limit_ip_unshared_total', 'Per-IP rate-limit decisions taken without Redis (by the failure mode).', () => limits.ip.degraded))
    r.register(new CounterRead('tollgate_rate_limit_key_unshared_total', 'Per-key rate-limit decisions taken without Redis (by the failure mode).', () => limits.key.degraded))
    r.register(
      new Gauge('tollgate_redis_changes_subscribed', "Whether this process hears other replicas' key and price changes (1) or sees them only after the cache TTL (0).", () =>
        changes.listening ? 1 : 0,
      ),
    )
    r.register(new CounterRead('tollgate_redis_changes_unsent_total', 'Key and price changes other replicas were not told of (they see them after the cache TTL).', () => changes.lost))
  }

  watchAlerts(countDeliveries: () => Promise<{ pending: number; failed: number }>): void {
    this.countDeliveries = countDeliveries
    this.registry.register(new Gauge('tollgate_alerts_pending', 'Alert deliveries not yet made (all processes).', () => this.alertDeliveries.pending))
    this.registry.register(new Gauge('tollgate_alerts_failed', 'Alert deliveries given up after their last attempt (all processes).', () => this.alertDeliveries.failed))
  }

  watchUpstream(slots: UpstreamSlots, freeCalls: FreeCallSlots): void {
    this.registry.register(new Gauge('tollgate_upstream_in_flight', 'Provider calls in flight in this process (streams until they end).', () => slots.inFlight))
    this.registry.register(new Gauge('tollgate_upstream_limit', 'The most provider calls this process runs at once (TOLLGATE_MAX_UPSTREAM_CONCURRENCY).', () => slots.limit))
    this.registry.register(
      new Gauge('tollgate_free_calls_in_flight', 'Calls that hold nothing in flight in this process: token counts, stored responses (until their body ends), alert webhooks.', () => freeCalls.inFlight),
    )
    this.registry.register(new Gauge('tollgate_free_calls_limit', "The most calls that hold nothing this process runs at once (what Bun's fetch cap leaves them), the few kept for alert webhooks included.", () => freeCalls.limit))
  }

  watchCheckpointer(checkpointer: Pick<Checkpointer, 'running' | 'restarts'>): void {
    this.registry.register(
      new Gauge('tollgate_wal_checkpointer_up', "Whether the WAL checkpointer's thread runs (1) or not (0: SQLite checkpoints in the gateway's commits meanwhile).", () =>
        checkpointer.running ? 1 : 0,
      ),
    )
    this.registry.register(new CounterRead('tollgate_wal_checkpointer_restarts_total', "Times the WAL checkpointer's thread died and was started again.", () => checkpointer.restarts))
  }

  /** A model's label: its own name if the operator configured or priced it, else `other`. */
  modelLabel(model: string): string {
    return this.isConfiguredModel(model) ? model : OTHER
  }

  methodLabel(method: string): string {
    return knownMethod(method)
  }
}
