import type { SQL } from 'bun'
import type { AlertRows, ExpiringKey, KeySpend, UserSpend } from '../store'

const n = (v: unknown) => Number(v)

/**
 * The alert outbox in Postgres, shared by every replica: the dedupe key's unique index makes an alert once
 * whichever replica raises it first, and a due delivery is claimed with `FOR UPDATE SKIP LOCKED` and its
 * lease in one statement, so two replicas never make the same attempt.
 */
export function postgresAlertRows(sql: SQL): AlertRows {
  return {
    insert: (a, webhooks) =>
      sql.begin(async (tx) => {
        const [row] = await tx`
          INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at)
          VALUES (${a.id}, ${a.dedupeKey}, ${a.kind}, ${a.subject}, ${a.payload}, ${a.createdAt})
          ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`
        if (!row) return false
        for (const webhook of webhooks) await tx`INSERT INTO alert_deliveries (alert_id, webhook, next_attempt_at) VALUES (${a.id}, ${webhook}, ${a.createdAt})`
        return true
      }),
    async claimDue(webhooks, now, leaseUntil, limit) {
      if (webhooks.length === 0) return []
      const rows = await sql`
        WITH due AS (
          SELECT alert_id, webhook FROM alert_deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now} AND webhook = ANY(${sql.array([...webhooks], 'TEXT')})
          ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        UPDATE alert_deliveries d SET attempts = d.attempts + 1, next_attempt_at = ${leaseUntil}
        FROM due, alerts a WHERE d.alert_id = due.alert_id AND d.webhook = due.webhook AND a.id = d.alert_id
        RETURNING d.alert_id, d.webhook, d.attempts, a.payload`
      return rows.map((r: any) => ({ alertId: r.alert_id, webhook: r.webhook, attempt: n(r.attempts), leaseUntil, payload: r.payload }))
    },
    async delivered(d, now) {
      await sql`
        UPDATE alert_deliveries SET status = 'delivered', delivered_at = ${now}, last_error = NULL
        WHERE alert_id = ${d.alertId} AND webhook = ${d.webhook} AND status <> 'delivered'`
    },
    // A failure is the claim's own: written while the row is pending under it (its attempt count and lease).
    async retryAt(d, at, error) {
      const { count } = await sql`
        UPDATE alert_deliveries SET next_attempt_at = ${at}, last_error = ${error}
        WHERE alert_id = ${d.alertId} AND webhook = ${d.webhook} AND status = 'pending' AND attempts = ${d.attempt} AND next_attempt_at = ${d.leaseUntil}`
      return count === 1
    },
    async failed(d, error) {
      const { count } = await sql`
        UPDATE alert_deliveries SET status = 'failed', last_error = ${error}
        WHERE alert_id = ${d.alertId} AND webhook = ${d.webhook} AND status = 'pending' AND attempts = ${d.attempt} AND next_attempt_at = ${d.leaseUntil}`
      return count === 1
    },
    async unclaim(d, now) {
      await sql`
        UPDATE alert_deliveries SET attempts = attempts - 1, next_attempt_at = ${now}
        WHERE alert_id = ${d.alertId} AND webhook = ${d.webhook} AND status = 'pending' AND attempts = ${d.attempt} AND next_attempt_at = ${d.leaseUntil}`
    },
    count: async (status) => n((await sql`SELECT count(*) AS n FROM alert_deliveries WHERE status = ${status}`)[0].n),
    // An admin's write: in a transaction, rolled back if answered after the deadline (see PostgresStore.write).
    redeliver: (alertId, now) =>
      sql.begin(async (tx) => (await tx`UPDATE alert_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ${now} WHERE alert_id = ${alertId} AND status = 'failed'`).count),
    exists: async (alertId) => (await sql`SELECT 1 FROM alerts WHERE id = ${alertId}`).length > 0,
    // Compared in numeric (here and below): in bigint, max_budget * basis points overflows for a budget the API accepts (at 100 %, past $922M).
    usersOver: async (bp) =>
      (
        await sql`SELECT id, max_budget, spend, budget_period, period_start FROM users WHERE max_budget > 0 AND spend::numeric * 10000 >= max_budget::numeric * ${bp}`
      ).map(
        (r: any): UserSpend => ({ ...r, max_budget: n(r.max_budget), spend: n(r.spend), period_start: n(r.period_start) }),
      ),
    rolledUsersOver: async (period, start, end, bp) =>
      (
        await sql`
          SELECT id, max_budget, last_period_spend AS spend, budget_period, last_period_start AS period_start FROM users
          WHERE budget_period = ${period} AND period_start = ${end} AND last_period_start >= ${start} AND max_budget > 0
            AND last_period_spend::numeric * 10000 >= max_budget::numeric * ${bp}`
      ).map((r: any): UserSpend => ({ ...r, max_budget: n(r.max_budget), spend: n(r.spend), period_start: n(r.period_start) })),
    keysOver: async (bp) =>
      (
        await sql`SELECT id, user_id, name, max_budget, spend FROM api_keys WHERE revoked_at IS NULL AND max_budget > 0 AND spend::numeric * 10000 >= max_budget::numeric * ${bp}`
      ).map((r: any): KeySpend => ({ ...r, max_budget: n(r.max_budget), spend: n(r.spend) })),
    expiringKeys: async (from, to) =>
      (await sql`SELECT id, user_id, name, expires_at FROM api_keys WHERE revoked_at IS NULL AND expires_at > ${from} AND expires_at <= ${to}`).map(
        (r: any): ExpiringKey => ({ ...r, expires_at: n(r.expires_at) }),
      ),
  }
}
