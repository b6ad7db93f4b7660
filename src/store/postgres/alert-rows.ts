import type { SQL } from 'bun'
import { drizzle } from 'drizzle-orm/bun-sql'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { deleteInBatches, MAINTENANCE_BATCH } from '../../db/maintenance'
import { ALL_FOUND, foundByIdWindows, ID_WINDOW } from '../id-windows'
import type { AlertRows, ExpiringKey, KeySpend, OutboxEntry, UserSpend } from '../store'
import { storableText } from './batch'
import * as tables from './schema'

const n = (v: unknown) => Number(v)
const setAt = (v: unknown) => (v === null ? null : Number(v))
const userSpend = (r: any): UserSpend => ({ ...r, max_budget: n(r.max_budget), budget_set_at: setAt(r.budget_set_at), spend: n(r.spend), period_start: n(r.period_start) })

// As SQLite's (AlertRows.prune): their deliveries go with them (ON DELETE CASCADE).
const PRUNE_ALERTS = `DELETE FROM alerts WHERE id IN
  (SELECT a.id FROM alerts a WHERE a.created_at < $1 AND a.dedupe_until < $1
     AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.alert_id = a.id AND d.status = 'pending')
   ORDER BY a.created_at LIMIT ${MAINTENANCE_BATCH})`

/**
 * The alert outbox in Postgres, shared by every replica: the dedupe key's unique index makes an alert once
 * whichever replica raises it first, and a due delivery is claimed with `FOR UPDATE SKIP LOCKED` and its
 * lease in one statement, so two replicas never make the same attempt.
 */
export function postgresAlertRows(sql: SQL): AlertRows {
  const db = drizzle({ client: sql, schema: tables })
  const usersWindow = async (after: string): Promise<string | null> =>
    (await sql`SELECT max(id) AS id FROM (SELECT id FROM users WHERE id > ${after} ORDER BY id LIMIT ${ID_WINDOW}) w`)[0].id
  const keysWindow = async (after: string): Promise<string | null> =>
    (await sql`SELECT max(id) AS id FROM (SELECT id FROM api_keys WHERE id > ${after} ORDER BY id LIMIT ${ID_WINDOW}) w`)[0].id
  return {
    async insertAll(entries) {
      // The keys as written (storableText): an unpriced model's is the client's text, and one lone surrogate in the
      // JSON sent here had Postgres refuse the whole batch, every alert of the check with it, check after check.
      const keys = JSON.stringify(entries.map((e) => storableText(e.alert.dedupeKey)))
      const found = await sql`SELECT dedupe_key FROM alerts WHERE dedupe_key IN (SELECT json_array_elements_text(${keys}::text::json))`
      const raised = new Set(found.map((r: any) => r.dedupe_key))
      const fresh = entries.filter((e) => !raised.has(storableText(e.alert.dedupeKey)))
      const written = new Set<OutboxEntry>()
      if (fresh.length > 0)
        await db.transaction(async (tx) => {
          for (const e of fresh) if (await insertOutboxEntry(tx, e)) written.add(e)
        })
      return entries.map((e) => written.has(e))
    },
    async claimDue(webhook, now, leaseUntil, limit) {
      const rows = await sql`
        WITH due AS (
          SELECT alert_id, webhook FROM alert_deliveries
          WHERE status = 'pending' AND next_attempt_at <= ${now} AND webhook = ${webhook}
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
    // Each batch a statement of its own, as the request log's prune (PostgresStore.pruneRequestLog).
    prune: (cutoff, stopped) => deleteInBatches(async () => (await sql.unsafe(PRUNE_ALERTS, [cutoff])).count, stopped),
    // Each over a window of ids (foundByIdWindows), as SQLite's: no index answers spend against a share of the budget,
    // and one statement would walk the whole table. Compared in numeric: in bigint, max_budget * basis points
    // overflows for a budget the API accepts (at 100 %, past $922M).
    usersOver: (bp, after, limit) =>
      foundByIdWindows(
        usersWindow,
        async (from, to, most) =>
          (
            await sql`
              SELECT id, max_budget, budget_set_at, spend, budget_period, period_start FROM users
              WHERE id > ${from} AND id <= ${to} AND max_budget > 0 AND spend::numeric * 10000 >= max_budget::numeric * ${bp} ORDER BY id LIMIT ${most}`
          ).map(userSpend),
        after,
        limit,
      ),
    // Through users_period: the users rolled to `end` only.
    rolledUsersOver: (period, start, end, bp) =>
      foundByIdWindows(
        async (after) =>
          (
            await sql`SELECT max(id) AS id FROM (SELECT id FROM users WHERE budget_period = ${period} AND period_start = ${end} AND id > ${after} ORDER BY id LIMIT ${ID_WINDOW}) w`
          )[0].id,
        async (from, to) =>
          (
            await sql`
              SELECT id, last_period_budget AS max_budget, last_period_budget_set_at AS budget_set_at, last_period_spend AS spend, budget_period, last_period_start AS period_start FROM users
              WHERE id > ${from} AND id <= ${to} AND budget_period = ${period} AND period_start = ${end} AND last_period_start >= ${start}
                AND last_period_budget > 0 AND last_period_spend::numeric * 10000 >= last_period_budget::numeric * ${bp}`
          ).map(userSpend),
        '',
        ALL_FOUND,
      ),
    keysOver: (bp, after, limit) =>
      foundByIdWindows(
        keysWindow,
        async (from, to, most) =>
          (
            await sql`
              SELECT id, user_id, name, max_budget, budget_set_at, spend FROM api_keys
              WHERE id > ${from} AND id <= ${to} AND revoked_at IS NULL AND max_budget > 0 AND spend::numeric * 10000 >= max_budget::numeric * ${bp}
              ORDER BY id LIMIT ${most}`
          ).map((r: any): KeySpend => ({ ...r, max_budget: n(r.max_budget), budget_set_at: setAt(r.budget_set_at), spend: n(r.spend) })),
        after,
        limit,
      ),
    // Through api_keys_expiring (expires_at, id), as SQLite's: a page from the window's start or past a key.
    expiringKeys: async (from, to, after, limit) =>
      (
        await (after
          ? sql`SELECT id, user_id, name, expires_at FROM api_keys
                WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND (expires_at, id) > (${after.expires_at}, ${after.id}) AND expires_at <= ${to}
                ORDER BY expires_at, id LIMIT ${limit}`
          : sql`SELECT id, user_id, name, expires_at FROM api_keys
                WHERE revoked_at IS NULL AND expires_at > ${from} AND expires_at <= ${to} ORDER BY expires_at, id LIMIT ${limit}`)
      ).map((r: any): ExpiringKey => ({ ...r, expires_at: n(r.expires_at) })),
  }
}

/** A drizzle builder over the Postgres tables: a transaction's, or the store's. */
type PgWriter = PgDatabase<PgQueryResultHKT, typeof tables>

/**
 * Writes an outbox entry, the alert and its deliveries, unless an alert with its dedupe key exists: true when
 * written. Atomic only inside a transaction: its own (AlertRows.insert), or that of the change the alert tells of
 * (Store.revokeKey, Store.updateUser). Its key and subject are written storable (storableText), as insertAll looks
 * them up; the payload is JSON text, which escapes whatever Postgres text could not hold.
 */
export async function insertOutboxEntry(tx: PgWriter, { alert: a, webhooks }: OutboxEntry): Promise<boolean> {
  const [row] = await tx
    .insert(tables.alerts)
    .values({
      id: a.id,
      dedupeKey: storableText(a.dedupeKey),
      kind: a.kind,
      subject: a.subject === null ? null : storableText(a.subject),
      payload: a.payload,
      createdAt: a.createdAt,
      dedupeUntil: a.dedupeUntil ?? null,
    })
    .onConflictDoNothing({ target: tables.alerts.dedupeKey })
    .returning({ id: tables.alerts.id })
  if (!row) return false
  if (webhooks.length > 0) await tx.insert(tables.alertDeliveries).values(webhooks.map((webhook) => ({ alertId: a.id, webhook, nextAttemptAt: a.createdAt })))
  return true
}
