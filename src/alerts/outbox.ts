import type { Database, Statement } from 'bun:sqlite'

export type AlertKind = 'budget_threshold' | 'key_expiring' | 'user_blocked' | 'key_revoked' | 'holds_expired' | 'unpriced_model'

export interface NewAlert {
  /** Raising the same key twice is a no-op: this is what makes each crossing or event alert once. */
  dedupeKey: string
  kind: AlertKind
  subject: string | null
  /** One line for people (Slack shows it as the message). */
  text: string
  data: Record<string, unknown>
}

export interface DueDelivery {
  alertId: string
  webhook: string
  /** Counting the one now being made. */
  attempt: number
  payload: string
}

interface DueRow {
  alert_id: string
  webhook: string
  attempts: number
  payload: string
}

const newAlertId = () => `alt_${crypto.randomUUID().replaceAll('-', '')}`

/**
 * The durable outbox: an alert and its delivery rows are written in one transaction, so a gateway that
 * stops at any point afterwards still delivers it; a delivery is claimed with a lease (its next attempt
 * pushed past the attempt's timeout), so a process killed mid-delivery leaves it to be retried, by itself
 * after a restart or by another process, with the same alert id. At least once, never silently dropped.
 */
export class AlertOutbox {
  private readonly insertAlert: Statement<unknown, [string, string, string, string | null, string, number]>
  private readonly insertDelivery: Statement<unknown, [string, string, number]>
  private readonly dueRows: Statement<DueRow, [number, number]>
  private readonly claimStatement: Statement<unknown, [number, string, string, number]>
  private readonly deliveredStatement: Statement<unknown, [number, string, string]>
  private readonly retryStatement: Statement<unknown, [number, string, string, string]>
  private readonly failStatement: Statement<unknown, [string, string, string]>
  private readonly countStatement: Statement<{ n: number }, [string]>
  private readonly raiseTx: (a: NewAlert, now: number) => string | null

  constructor(
    private readonly db: Database,
    private readonly webhooks: readonly string[],
  ) {
    this.insertAlert = db.prepare('INSERT OR IGNORE INTO alerts (id, dedupe_key, kind, subject, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)')
    this.insertDelivery = db.prepare('INSERT INTO alert_deliveries (alert_id, webhook, next_attempt_at) VALUES (?, ?, ?)')
    this.dueRows = db.prepare(
      `SELECT d.alert_id, d.webhook, d.attempts, a.payload FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
    )
    // The lease: only the process whose UPDATE matched makes this attempt.
    this.claimStatement = db.prepare(
      `UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = ?1
       WHERE alert_id = ?2 AND webhook = ?3 AND status = 'pending' AND next_attempt_at <= ?4`,
    )
    this.deliveredStatement = db.prepare(`UPDATE alert_deliveries SET status = 'delivered', delivered_at = ?1, last_error = NULL WHERE alert_id = ?2 AND webhook = ?3`)
    this.retryStatement = db.prepare('UPDATE alert_deliveries SET next_attempt_at = ?1, last_error = ?4 WHERE alert_id = ?2 AND webhook = ?3')
    this.failStatement = db.prepare(`UPDATE alert_deliveries SET status = 'failed', last_error = ?3 WHERE alert_id = ?1 AND webhook = ?2`)
    this.countStatement = db.prepare('SELECT count(*) AS n FROM alert_deliveries WHERE status = ?')
    this.raiseTx = db.transaction((a: NewAlert, now: number) => {
      const id = newAlertId()
      const payload = JSON.stringify({ id, kind: a.kind, created_at: new Date(now).toISOString(), text: a.text, data: a.data })
      if (this.insertAlert.run(id, a.dedupeKey, a.kind, a.subject, payload, now).changes === 0) return null
      for (const webhook of this.webhooks) this.insertDelivery.run(id, webhook, now)
      return id
    }).immediate
  }

  /** Writes the alert and its deliveries unless its dedupe key was raised before; returns its id if new. */
  raise(alert: NewAlert, now = Date.now()): string | null {
    return this.raiseTx(alert, now)
  }

  /** Deliveries due now, each claimed by this process until `now + leaseMs`. */
  claimDue(now: number, leaseMs: number, limit = 20): DueDelivery[] {
    const claimed: DueDelivery[] = []
    for (const row of this.dueRows.all(now, limit)) {
      if (this.claimStatement.run(now + leaseMs, row.alert_id, row.webhook, now).changes === 1)
        claimed.push({ alertId: row.alert_id, webhook: row.webhook, attempt: row.attempts + 1, payload: row.payload })
    }
    return claimed
  }

  delivered(d: DueDelivery, now = Date.now()): void {
    this.deliveredStatement.run(now, d.alertId, d.webhook)
  }

  /** A failed attempt: retried at `retryAt`, or failed for good when there is none. */
  attemptFailed(d: DueDelivery, error: string, retryAt: number | null): void {
    if (retryAt === null) this.failStatement.run(d.alertId, d.webhook, error)
    else this.retryStatement.run(retryAt, d.alertId, d.webhook, error)
  }

  count(status: 'pending' | 'failed'): number {
    return this.countStatement.get(status)!.n
  }

  /** Failed deliveries of an alert start over (an operator fixed the receiver); returns how many. */
  redeliver(alertId: string, now = Date.now()): number {
    return this.db
      .prepare(`UPDATE alert_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE alert_id = ? AND status = 'failed'`)
      .run(now, alertId).changes
  }
}
