import type { AlertRows, DueDelivery, OutboxEntry } from '../store/store'

export type { DueDelivery }

type AlertKind = 'budget_threshold' | 'key_expiring' | 'user_blocked' | 'key_revoked' | 'holds_expired' | 'unpriced_model'

export interface NewAlert {
  /** Raising the same key twice is a no-op: this is what makes each crossing or event alert once. */
  dedupeKey: string
  kind: AlertKind
  subject: string | null
  /** One line for people (Slack shows it as the message). */
  text: string
  data: Record<string, unknown>
  /**
   * Until when a check may raise this alert again (its row's dedupe key is what makes that a no-op): the audit
   * retention's prune keeps the row until then. Null (or absent): for as long as it exists.
   */
  dedupeUntil?: number | null
}

/**
 * Time-ordered (UUIDv7): each new id lands at the end of the alerts' primary key. Random ids put every alert of a
 * check's chunk at its own page of the index, each page written again in each commit: 300,000 alerts wrote ~1.2 GB
 * of WAL where ordered ids write a fraction of it.
 */
const newAlertId = () => `alt_${Bun.randomUUIDv7().replaceAll('-', '')}`

/**
 * The durable outbox: an alert and its delivery rows are written in one transaction, so a gateway that
 * stops at any point afterwards still delivers it; its dedupe key makes it once, whichever process raises it
 * first. A delivery is claimed with a lease (its next attempt pushed past the attempt's timeout) by one
 * process at a time, so a process killed mid-delivery leaves it to be retried, by itself after a restart
 * or by another process, with the same alert id. At least once, never silently dropped, never once per replica.
 */
export class AlertOutbox {
  constructor(
    private readonly rows: AlertRows,
    private readonly webhooks: readonly string[],
  ) {}

  /** Raised in the turn of the event loop under way, to be written together at its end (writeTogether). */
  private together: Array<{ entry: OutboxEntry; written: PromiseWithResolvers<boolean> }> | null = null

  /**
   * Writes the alert and its deliveries unless its dedupe key was raised before; returns its id if new. The
   * alerts raised in one turn of the event loop (a check's chunk of crossings) are written together.
   */
  async raise(a: NewAlert, now = Date.now()): Promise<string | null> {
    const entry = this.entry(a, now)
    if (!this.together) {
      const together = (this.together = [])
      queueMicrotask(() => void this.writeTogether(together))
    }
    const written = Promise.withResolvers<boolean>()
    this.together.push({ entry, written })
    return (await written.promise) ? entry.alert.id : null
  }

  private async writeTogether(together: NonNullable<typeof this.together>): Promise<void> {
    this.together = null
    try {
      const written = await this.rows.insertAll(together.map((t) => t.entry))
      together.forEach((t, i) => t.written.resolve(written[i]!))
    } catch (error) {
      for (const t of together) t.written.reject(error)
    }
  }

  /**
   * The alert and its deliveries as written, for a store to write in the transaction of the change it tells of
   * (Store.revokeKey, Store.updateUser); the same dedupe rule applies there.
   */
  entry(a: NewAlert, now = Date.now()): OutboxEntry {
    const id = newAlertId()
    const payload = JSON.stringify({ id, kind: a.kind, created_at: new Date(now).toISOString(), text: a.text, data: a.data })
    return {
      alert: { id, dedupeKey: a.dedupeKey, kind: a.kind, subject: a.subject, payload, createdAt: now, dedupeUntil: a.dedupeUntil ?? null },
      webhooks: this.webhooks,
    }
  }

  /**
   * Up to `limit` deliveries to `webhook` due now, each claimed by this process until `now + leaseMs`. Only to a
   * webhook of this process's: one to a webhook it does not know stays pending for a process that does (a
   * rolling deploy adding a webhook).
   */
  async claimDue(webhook: string, now: number, leaseMs: number, limit = 20): Promise<DueDelivery[]> {
    return this.webhooks.includes(webhook) ? this.rows.claimDue(webhook, now, now + leaseMs, limit) : []
  }

  /** A success counts whichever claim made it: the receiver has the alert. */
  delivered(d: DueDelivery, now = Date.now()): Promise<void> {
    return this.rows.delivered(d, now)
  }

  /**
   * A failed attempt: retried at `retryAt`, or failed for good when there is none; not written once the
   * claim's lease has been taken over (the claim after it writes its own result). True when written.
   */
  attemptFailed(d: DueDelivery, error: string, retryAt: number | null): Promise<boolean> {
    return retryAt === null ? this.rows.failed(d, error) : this.rows.retryAt(d, retryAt, error)
  }

  /** A claim given up before its attempt was made: due again now, and no attempt counted. */
  unclaim(d: DueDelivery, now = Date.now()): Promise<void> {
    return this.rows.unclaim(d, now)
  }

  count(status: 'pending' | 'failed'): Promise<number> {
    return this.rows.count(status)
  }

  /** Failed deliveries of an alert start over (an operator fixed the receiver); returns how many. */
  redeliver(alertId: string, now = Date.now()): Promise<number> {
    return this.rows.redeliver(alertId, now)
  }

  exists(alertId: string): Promise<boolean> {
    return this.rows.exists(alertId)
  }
}
