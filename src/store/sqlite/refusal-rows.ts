import type { Database } from 'bun:sqlite'
import type { WriteQueue } from '../../db/write-queue'
import type { RefusalRows } from '../store'

/** Refusal counts appended through the write queue, like the request log. */
export function sqliteRefusalRows(db: Database, queue: WriteQueue): RefusalRows {
  const count = db.prepare<unknown, [number, string]>(
    'INSERT INTO refusal_counts (hour, code, count) VALUES (?, ?, 1) ON CONFLICT (hour, code) DO UPDATE SET count = count + 1',
  )
  const unpriced = db.prepare<unknown, [string, number, number]>(
    `INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at)
     SELECT ?1, 1, ?2, ?2 WHERE (SELECT count(*) FROM unpriced_models) < ?3 OR EXISTS (SELECT 1 FROM unpriced_models WHERE model = ?1)
     ON CONFLICT (model) DO UPDATE SET requests = requests + 1, last_seen_at = ?2`,
  )
  const prune = db.prepare<unknown, [number]>('DELETE FROM refusal_counts WHERE hour < ?')
  return {
    count: (hour, code) => queue.defer(() => count.run(hour, code)),
    unpriced: (model, now, max) => queue.defer(() => unpriced.run(model, now, max)),
    prune: async (cutoff) => prune.run(cutoff).changes,
  }
}
