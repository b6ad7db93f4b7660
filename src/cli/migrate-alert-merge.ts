import type { Db } from '../db/open'
import { storableText } from '../store/postgres/batch'

/**
 * Alerts whose dedupe keys become one in Postgres. An older version raised an `unpriced_model` alert for
 * `mock:x\0y` and a later one for `mock:x\uFFFDy` in the same interval (`unpriced:<model>:<interval>`): two keys in
 * SQLite, one once storableRow writes the NUL as U+FFFD, and `alerts_dedupe` is unique. The earliest alert of a key
 * is kept (as the gateway would have raised only it); a later one is dropped and its deliveries moved onto the kept
 * alert, so that a webhook's pending delivery is still made and a delivered one still shows it was sent. A delivery
 * to a webhook the kept alert already has one for is dropped: the webhook hears of that alert once.
 *
 * Only a key with a NUL or U+FFFD in it can meet another, so only those are read ahead of the copy (few, if any).
 */
export class AlertMerge {
  /** Dropped alert id → the id of the alert kept in its place. */
  private readonly keptFor = new Map<string, string>()
  /** `<alert id>\0<webhook>` of every delivery written onto a kept alert. */
  private readonly delivered = new Set<string>()

  constructor(source: Db) {
    const rows = source.$client
      .query<{ id: string; key: string }, []>(
        `SELECT id, dedupe_key AS key FROM alerts
         WHERE instr(CAST(dedupe_key AS BLOB), x'00') > 0 OR instr(CAST(dedupe_key AS BLOB), x'efbfbd') > 0
         ORDER BY created_at, rowid`,
      )
      .all()
    // Alert ids are the gateway's own (random UUIDs): storableRow leaves them as they are.
    const keptByKey = new Map<string, string>()
    for (const { id, key } of rows) {
      const kept = keptByKey.get(storableText(key))
      if (kept === undefined) keptByKey.set(storableText(key), id)
      else this.keptFor.set(id, kept)
    }
    const kept = [...new Set(this.keptFor.values())]
    if (kept.length === 0) return
    const own = source.$client
      .query<{ alertId: string; webhook: string }, string[]>(`SELECT alert_id AS alertId, webhook FROM alert_deliveries WHERE alert_id IN (${kept.map(() => '?').join(', ')})`)
      .all(...kept)
    for (const d of own) this.delivered.add(`${d.alertId}\0${storableText(d.webhook)}`)
  }

  /** An alert row (as storableRow made it), or null when it is merged into the kept alert of its key. */
  alert(row: { id: string }): typeof row | null {
    return this.keptFor.has(row.id) ? null : row
  }

  /** A delivery row (as storableRow made it), moved onto the kept alert if its own was dropped; null when that alert has one to the webhook. */
  delivery<T extends { alertId: string; webhook: string }>(row: T): T | null {
    const kept = this.keptFor.get(row.alertId)
    if (kept === undefined) return row
    const key = `${kept}\0${row.webhook}`
    if (this.delivered.has(key)) return null
    this.delivered.add(key)
    return { ...row, alertId: kept }
  }
}
