import type { AlertSettings } from '../config/schema'
import type { FreeCallSlots } from '../providers/free-call-slots'
import type { AlertRows, OutboxEntry } from '../store/store'
import { AlertDelivery } from './delivery'
import { AlertOutbox, type NewAlert } from './outbox'
import { codeSpan } from './code-span'
import { AlertWatch } from './watch'

/**
 * Budget alerts and operator events: raised into the outbox (once each), delivered from it in the
 * background. Nothing here runs on a request's path but `noteUnpriced`, a map update.
 */
export class Alerts {
  readonly outbox: AlertOutbox
  private readonly watch: AlertWatch
  private readonly delivery: AlertDelivery
  private timers: ReturnType<typeof setInterval>[] = []
  private checking: Promise<void> | null = null
  /** Set by stop: a check under way ends at its next page rather than judging (and raising) every row first. */
  private stopping = false
  /** Alerts being written, for stop to wait on. */
  private readonly writing = new Set<Promise<unknown>>()

  constructor(
    rows: AlertRows,
    private readonly settings: AlertSettings,
    /** The free-call slots a webhook's POST takes one of. */
    freeCalls: FreeCallSlots,
    private readonly log: (message: string) => void,
  ) {
    this.outbox = new AlertOutbox(rows, Object.keys(settings.webhooks))
    this.watch = new AlertWatch(rows, settings)
    this.delivery = new AlertDelivery(this.outbox, settings, freeCalls, log)
  }

  start(): this {
    const every = (ms: number, run: () => unknown) => {
      const timer = setInterval(run, ms)
      timer.unref()
      this.timers.push(timer)
    }
    every(this.settings.check_interval_ms, () => this.check())
    // Often enough for a retry's backoff; a new alert does not wait for it (see raise).
    every(Math.min(1_000, this.settings.retry_base_ms), () => this.deliver())
    this.deliver()
    return this
  }

  /**
   * Stops checking and delivering: a check under way ends at its next page, alerts being raised are written
   * (delivered after a restart), and the deliveries under way get `graceMs` to end (see AlertDelivery.stop). A
   * check of 300,000 keys about to expire kept a stop waiting seconds for alerts the next start raises anyway.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    const delivered = this.delivery.stop(graceMs).catch(() => {})
    await Promise.all([this.checking, ...this.writing, delivered])
  }

  /** Raises every alert due now (thresholds, expiries, unpriced refusals); the timer calls it, tests may too. A check running is joined. */
  check(now = Date.now()): Promise<void> {
    this.checking ??= this.watch
      .check((a) => this.outbox.raise(a, now), now, () => this.stopping)
      .catch((error) => this.log(`alert check failed: ${(error as Error).message}`))
      .finally(() => {
        this.checking = null
        this.deliver()
      })
    return this.checking
  }

  noteUnpriced(model: string): void {
    this.watch.noteUnpriced(model)
  }

  /**
   * The events of an admin change (a user blocked, a key revoked) are written by the store in the change's own
   * transaction (Store.updateUser, Store.revokeKey): raised exactly when the change commits, one answered 503 whose
   * COMMIT landed later included, which a retry finding the change made would not raise again. Once the change is
   * answered, `deliver` sends them without waiting for the next round.
   */
  userBlocked(userId: string, now = Date.now()): OutboxEntry {
    return this.outbox.entry(
      { dedupeKey: `user_blocked:${userId}:${now}`, kind: 'user_blocked', subject: userId, text: `tollgate: user ${userId} was blocked`, data: { user_id: userId }, dedupeUntil: now },
      now,
    )
  }

  keyRevoked(key: { id: string; userId: string; name: string | null }, now = Date.now()): OutboxEntry {
    return this.outbox.entry(
      {
        dedupeKey: `key_revoked:${key.id}`,
        kind: 'key_revoked',
        subject: key.id,
        text: `tollgate: key ${key.id}${key.name ? ` (${codeSpan(key.name)})` : ''} of user ${key.userId} was revoked`,
        data: { key_id: key.id, user_id: key.userId, name: key.name },
        // Raised by the revocation alone, which happens once.
        dedupeUntil: now,
      },
      now,
    )
  }

  holdsExpired(count: number, now = Date.now()): Promise<void> {
    return this.raise(
      {
        dedupeKey: `holds_expired:${now}`,
        kind: 'holds_expired',
        subject: null,
        text: `tollgate: the sweeper charged ${count} expired hold(s) at their full amount (a crash or a lost request); see usage rows with status expired`,
        data: { holds: count },
        dedupeUntil: now,
      },
      now,
    )
  }

  /** Failed deliveries of an alert start over; returns how many. */
  async redeliver(alertId: string): Promise<number> {
    const n = await this.outbox.redeliver(alertId)
    this.deliver()
    return n
  }

  /** Writes one alert and starts delivering it at once; resolves once it is written (a failure is logged, not thrown). */
  raise(alert: NewAlert, now = Date.now()): Promise<void> {
    const written: Promise<void> = this.outbox
      .raise(alert, now)
      .then(
        () => {},
        (error) => this.log(`alert ${alert.kind} could not be written: ${(error as Error).message}`),
      )
      .finally(() => {
        this.writing.delete(written)
        this.deliver()
      })
    this.writing.add(written)
    return written
  }

  /** Claims and sends what is due now (a round claiming is joined: see AlertDelivery.deliverDue). */
  deliver(): void {
    void this.delivery.deliverDue().catch((error) => this.log(`alert delivery failed: ${(error as Error).message}`))
  }
}
