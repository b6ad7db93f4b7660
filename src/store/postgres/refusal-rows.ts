import type { SQL } from 'bun'
import type { QueueCap } from '../queue-cap'
import type { RefusalRows } from '../store'
import { BatchWriter, BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS, storableText as text, writeNotingCommit } from './batch'

type Queued = { hour: number; code: string } | { model: string; at: number; max: number }

/**
 * Refusal counts in Postgres: queued, added up per hour and code (and per model) in memory, and written a
 * batch at a time as increments, so that every replica's counts add up in one row and a flood of refusals
 * costs a statement per batch, not per refusal.
 */
/** Rows upserted in one order by every replica (hour, then code): two batches locking them in opposite orders would deadlock. */
const inRowOrder = (counts: Map<string, { hour: number; code: string; n: number }>) =>
  [...counts.values()].sort((a, b) => a.hour - b.hour || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))

export function postgresRefusalRows(sql: SQL, onError: (error: unknown) => void, cap?: QueueCap): RefusalRows & { writer: BatchWriter<Queued> } {
  const writer = new BatchWriter<Queued>(
    async (batch) => {
      const counts = new Map<string, { hour: number; code: string; n: number }>()
      const models = new Map<string, { model: string; n: number; first: number; last: number; max: number }>()
      for (const q of batch) {
        if ('code' in q) {
          const key = `${q.hour}\u0000${q.code}`
          const c = counts.get(key) ?? counts.set(key, { hour: q.hour, code: q.code, n: 0 }).get(key)!
          c.n++
        } else {
          const m = models.get(q.model) ?? models.set(q.model, { model: q.model, n: 0, first: q.at, last: q.at, max: q.max }).get(q.model)!
          m.n++
          m.first = Math.min(m.first, q.at)
          m.last = Math.max(m.last, q.at)
        }
      }
      // One transaction: a batch Postgres refuses (a row's data, and then BatchWriter sends it again a row at a
      // time; a lock, and it is sent again later) must leave none of its counts behind, or they are added twice.
      await writeNotingCommit(sql, async (tx) => {
        // A lock held on the counts for long (a VACUUM FULL, a migration) refuses the batch at once, rather than
        // keep its pooled connection past the deadline while the next batch takes another: the holds' pool.
        await tx.unsafe(BOUND_LOCK_WAITS, BOUND_LOCK_WAITS_PARAMS)
        if (counts.size > 0)
          await tx`
            INSERT INTO refusal_counts (hour, code, count)
            SELECT * FROM json_to_recordset(${JSON.stringify(inRowOrder(counts))}::text::json) AS x(hour bigint, code text, n bigint)
            ON CONFLICT (hour, code) DO UPDATE SET count = refusal_counts.count + excluded.count`
        if (models.size === 0) return
        const max = Math.max(...[...models.values()].map((m) => m.max))
        // One writer at a time, so that two replicas adding new models at once cannot both take the last places.
        await tx`SELECT pg_advisory_xact_lock(7201401)`
        await tx`
          WITH x AS (SELECT * FROM json_to_recordset(${JSON.stringify([...models.values()])}::text::json) AS x(model text, n bigint, first bigint, last bigint)),
          known AS (SELECT x.* FROM x WHERE EXISTS (SELECT 1 FROM unpriced_models u WHERE u.model = x.model)),
          fresh AS (SELECT x.* FROM x WHERE NOT EXISTS (SELECT 1 FROM unpriced_models u WHERE u.model = x.model)
                    ORDER BY x.first LIMIT greatest(0, ${max} - (SELECT count(*) FROM unpriced_models)))
          INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at)
          SELECT model, n, first, last FROM known UNION ALL SELECT model, n, first, last FROM fresh
          ON CONFLICT (model) DO UPDATE SET requests = unpriced_models.requests + excluded.requests,
            last_seen_at = greatest(unpriced_models.last_seen_at, excluded.last_seen_at)`
      })
    },
    onError,
    { retry: 'uncommitted', what: 'refusal count', cap },
  )
  return {
    writer,
    count: (hour, code) => writer.push({ hour, code }),
    unpriced: (model, at, max) => writer.push({ model: text(model), at, max }),
    prune: async (cutoff) => (await sql`DELETE FROM refusal_counts WHERE hour < ${cutoff}`).count,
  }
}
