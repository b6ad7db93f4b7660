import type { Database } from 'bun:sqlite'
import { deleteInBatches, TimedSteps } from '../../db/maintenance'
import type { WriteQueue } from '../../db/write-queue'
import { ALL_FOUND, foundByIdWindows, ID_WINDOW } from '../id-windows'
import type { AlertRows, DueDelivery, ExpiringKey, KeySpend, OutboxEntry, UserSpend } from '../store'

/**
 * The alert outbox in the SQLite file: a claim is an UPDATE that matched (one writer at a time holds the file).
 * Each write waits on the event loop for another process's lock (WriteQueue.waitingForLock). `insert` is the
 * store's sqliteAlertInsert, which its changes that raise an event write with too.
 */
export function sqliteAlertRows(db: Database, writes: WriteQueue, insert: (entry: OutboxEntry) => boolean): AlertRows {
  const dueRows = db.prepare<{ alert_id: string; webhook: string; attempts: number; payload: string }, [number, string, number]>(
    `SELECT d.alert_id, d.webhook, d.attempts, a.payload FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
     WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.webhook = ?
     ORDER BY d.next_attempt_at LIMIT ?`,
  )
  // The lease: only the process whose UPDATE matched makes this attempt.
  const claim = db.prepare<unknown, [number, string, string, number]>(
    `UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = ?1
     WHERE alert_id = ?2 AND webhook = ?3 AND status = 'pending' AND next_attempt_at <= ?4`,
  )
  const delivered = db.prepare<unknown, [number, string, string]>(
    `UPDATE alert_deliveries SET status = 'delivered', delivered_at = ?1, last_error = NULL WHERE alert_id = ?2 AND webhook = ?3 AND status <> 'delivered'`,
  )
  // A failure is the claim's own: written while the row is pending under it (its attempt count and lease).
  const retry = db.prepare<unknown, [number, string, string, string, number, number]>(
    `UPDATE alert_deliveries SET next_attempt_at = ?1, last_error = ?4
     WHERE alert_id = ?2 AND webhook = ?3 AND status = 'pending' AND attempts = ?5 AND next_attempt_at = ?6`,
  )
  const fail = db.prepare<unknown, [string, string, string, number, number]>(
    `UPDATE alert_deliveries SET status = 'failed', last_error = ?3
     WHERE alert_id = ?1 AND webhook = ?2 AND status = 'pending' AND attempts = ?4 AND next_attempt_at = ?5`,
  )
  const unclaim = db.prepare<unknown, [number, string, string, number, number]>(
    `UPDATE alert_deliveries SET attempts = attempts - 1, next_attempt_at = ?1
     WHERE alert_id = ?2 AND webhook = ?3 AND status = 'pending' AND attempts = ?4 AND next_attempt_at = ?5`,
  )
  const count = db.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM alert_deliveries WHERE status = ?')
  // The unary + as in the prune: through alert_deliveries_due (status, …) SQLite would walk every failed delivery.
  const redeliver = db.prepare<unknown, [number, string]>(
    `UPDATE alert_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE alert_id = ? AND +status = 'failed'`,
  )
  const exists = db.prepare<{ id: string }, [string]>('SELECT id FROM alerts WHERE id = ?')
  // The keys as one JSON array: one statement, whatever their number.
  const raisedKeys = db.prepare<{ dedupe_key: string }, [string]>('SELECT dedupe_key FROM alerts WHERE dedupe_key IN (SELECT value FROM json_each(?))')
  // Each a savepoint of this one transaction (sqliteAlertInsert).
  const insertEach = db.transaction((entries: OutboxEntry[]) => new Set(entries.filter((e) => insert(e)))).immediate
  // Their deliveries go with them (ON DELETE CASCADE). The unary + keeps SQLite off alert_deliveries_due (status, …)
  // for the NOT EXISTS, which would read every pending delivery for each alert: it looks up the alert's own by key.
  const prune = db.prepare<unknown, [number, number]>(
    `DELETE FROM alerts WHERE id IN
       (SELECT a.id FROM alerts a WHERE a.created_at < ?1 AND a.dedupe_until < ?1
          AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND +d.status = 'pending')
        ORDER BY a.created_at LIMIT ?2)`,
  )
  // Each over a window of ids (foundByIdWindows): no index answers spend against a share of the budget.
  const usersWindowEnd = db.prepare<{ id: string | null }, [string]>(
    `SELECT max(id) AS id FROM (SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ${ID_WINDOW})`,
  )
  const usersOver = db.prepare<UserSpend, [number, string, string, number]>(
    `SELECT id, max_budget, budget_set_at, spend, budget_period, period_start FROM users
     WHERE id > ?2 AND id <= ?3 AND max_budget > 0 AND spend * 10000 >= max_budget * ?1 ORDER BY id LIMIT ?4`,
  )
  // Through users_period: the users rolled to `end` only.
  const rolledWindowEnd = db.prepare<{ id: string | null }, [string, number, string]>(
    `SELECT max(id) AS id FROM (SELECT id FROM users WHERE budget_period = ? AND period_start = ? AND id > ? ORDER BY id LIMIT ${ID_WINDOW})`,
  )
  const rolledUsersOver = db.prepare<UserSpend, [string, number, number, number, string, string]>(
    `SELECT id, last_period_budget AS max_budget, last_period_budget_set_at AS budget_set_at, last_period_spend AS spend, budget_period, last_period_start AS period_start FROM users
     WHERE id > ?5 AND id <= ?6 AND budget_period = ?1 AND period_start = ?3 AND last_period_start >= ?2 AND last_period_budget > 0
       AND last_period_spend * 10000 >= last_period_budget * ?4`,
  )
  const keysWindowEnd = db.prepare<{ id: string | null }, [string]>(
    `SELECT max(id) AS id FROM (SELECT id FROM api_keys WHERE id > ? ORDER BY id LIMIT ${ID_WINDOW})`,
  )
  const keysOver = db.prepare<KeySpend, [number, string, string, number]>(
    `SELECT id, user_id, name, max_budget, budget_set_at, spend FROM api_keys
     WHERE id > ?2 AND id <= ?3 AND revoked_at IS NULL AND max_budget > 0 AND spend * 10000 >= max_budget * ?1 ORDER BY id LIMIT ?4`,
  )
  // Through api_keys_expiring (expires_at, id): a page of the live keys with an expiry, from the window's start or past a key.
  const expiringFirst = db.prepare<ExpiringKey, [number, number, number]>(
    `SELECT id, user_id, name, expires_at FROM api_keys
     WHERE revoked_at IS NULL AND expires_at > ?1 AND expires_at <= ?2 ORDER BY expires_at, id LIMIT ?3`,
  )
  const expiringPast = db.prepare<ExpiringKey, [number, string, number, number]>(
    `SELECT id, user_id, name, expires_at FROM api_keys
     WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND (expires_at, id) > (?1, ?2) AND expires_at <= ?3 ORDER BY expires_at, id LIMIT ?4`,
  )
  const usersWindow = async (after: string) => usersWindowEnd.get(after)!.id
  const keysWindow = async (after: string) => keysWindowEnd.get(after)!.id

  return {
    async insertAll(entries) {
      const raised = new Set(raisedKeys.all(JSON.stringify(entries.map((e) => e.alert.dedupeKey))).map((r) => r.dedupe_key))
      const fresh = entries.filter((e) => !raised.has(e.alert.dedupeKey))
      const written = fresh.length === 0 ? new Set() : await writes.waitingForLock(() => insertEach(fresh))
      return entries.map((e) => written.has(e))
    },
    async claimDue(webhook, now, leaseUntil, limit) {
      const claimed: DueDelivery[] = []
      for (const row of dueRows.all(now, webhook, limit))
        if ((await writes.waitingForLock(() => claim.run(leaseUntil, row.alert_id, row.webhook, now).changes)) === 1)
          claimed.push({ alertId: row.alert_id, webhook: row.webhook, attempt: row.attempts + 1, leaseUntil, payload: row.payload })
      return claimed
    },
    delivered: (d, now) => writes.waitingForLock(() => void delivered.run(now, d.alertId, d.webhook)),
    retryAt: (d, at, error) => writes.waitingForLock(() => retry.run(at, d.alertId, d.webhook, error, d.attempt, d.leaseUntil).changes === 1),
    failed: (d, error) => writes.waitingForLock(() => fail.run(d.alertId, d.webhook, error, d.attempt, d.leaseUntil).changes === 1),
    unclaim: (d, now) => writes.waitingForLock(() => void unclaim.run(now, d.alertId, d.webhook, d.attempt, d.leaseUntil)),
    count: async (status) => count.get(status)!.n,
    redeliver: (alertId, now) => writes.waitingForLock(() => redeliver.run(now, alertId).changes),
    exists: async (alertId) => exists.get(alertId) !== null,
    prune: (cutoff, stopped) => deleteInBatches((rows) => writes.waitingForLock(() => prune.run(cutoff, rows).changes), stopped, new TimedSteps()),
    usersOver: (bp, after, limit) => foundByIdWindows(usersWindow, async (from, to, most) => usersOver.all(bp, from, to, most), after, limit),
    rolledUsersOver: (period, start, end, bp) =>
      foundByIdWindows(
        async (after) => rolledWindowEnd.get(period, end, after)!.id,
        async (from, to) => rolledUsersOver.all(period, start, end, bp, from, to),
        '',
        ALL_FOUND,
      ),
    keysOver: (bp, after, limit) => foundByIdWindows(keysWindow, async (from, to, most) => keysOver.all(bp, from, to, most), after, limit),
    expiringKeys: async (from, to, after, limit) => (after ? expiringPast.all(after.expires_at, after.id, to, limit) : expiringFirst.all(from, to, limit)),
  }
}

/**
 * Writes an outbox entry, the alert and its deliveries together, unless an alert with its dedupe key exists: true
 * when written. Synchronous, on `db`'s connection: its own IMMEDIATE transaction, or a savepoint of the one under
 * way (a change that raises an event in its own transaction: Store.revokeKey, Store.updateUser).
 */
export function sqliteAlertInsert(db: Database): (entry: OutboxEntry) => boolean {
  const insertAlert = db.prepare<unknown, [string, string, string, string | null, string, number, number | null]>(
    'INSERT OR IGNORE INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  const insertDelivery = db.prepare<unknown, [string, string, number]>('INSERT INTO alert_deliveries (alert_id, webhook, next_attempt_at) VALUES (?, ?, ?)')
  return db.transaction(({ alert: a, webhooks }: OutboxEntry) => {
    if (insertAlert.run(a.id, a.dedupeKey, a.kind, a.subject, a.payload, a.createdAt, a.dedupeUntil ?? null).changes === 0) return false
    for (const webhook of webhooks) insertDelivery.run(a.id, webhook, a.createdAt)
    return true
  }).immediate
}
