import type { Database } from 'bun:sqlite'
import type { WriteQueue } from '../../db/write-queue'
import type { RefusalRows } from '../store'

/**
 * Refusal counts appended through the write queue, like the request log. Refusals of one kind that arrive
 * before their write commits are added to it rather than queued again: while the database takes no writes
 * (another process's lock, a full disk) the queue keeps what it holds until it does, and a flood of refusals
 * (429s need no key) would otherwise grow it by the request, or by each failed try.
 */
export function sqliteRefusalRows(db: Database, queue: WriteQueue): RefusalRows {
  const count = db.prepare<unknown, [number, string, number]>(
    'INSERT INTO refusal_counts (hour, code, count) VALUES (?1, ?2, ?3) ON CONFLICT (hour, code) DO UPDATE SET count = count + ?3',
  )
  const unpriced = db.prepare<unknown, [string, number, number, number, number]>(
    `INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at)
     SELECT ?1, ?4, ?5, ?2 WHERE (SELECT count(*) FROM unpriced_models) < ?3 OR EXISTS (SELECT 1 FROM unpriced_models WHERE model = ?1)
     ON CONFLICT (model) DO UPDATE SET requests = requests + ?4, last_seen_at = ?2`,
  )
  const prune = db.prepare<unknown, [number]>('DELETE FROM refusal_counts WHERE hour < ?')
  const counts = new Pending<{ hour: number; code: string; n: number }>(queue)
  const models = new Pending<{ model: string; first: number; last: number; max: number; n: number }>(queue)
  return {
    count: (hour, code) =>
      counts.add(`${hour}\0${code}`, (p) => void p.n++, () => ({ hour, code, n: 1 }), (p) => void count.run(p.hour, p.code, p.n)),
    unpriced: (model, now, max) =>
      models.add(
        model,
        (p) => {
          p.n++
          p.last = now
          p.max = max
        },
        () => ({ model, first: now, last: now, max, n: 1 }),
        (p) => void unpriced.run(p.model, p.last, p.max, p.n, p.first),
        // No more models than the record keeps: a client names them, and an outage would keep every one queued.
        max,
      ),
    prune: async (cutoff) => prune.run(cutoff).changes,
  }
}

/**
 * One queued write per key, which writes everything added to its key until it commits; then the key starts a new
 * write. A run again after its transaction rolled back writes what was added meanwhile too. A write refused for
 * its own data (reported by the queue, not tried again) keeps its key, and what is added to it is not written.
 */
class Pending<T> {
  private readonly queued = new Map<string, T>()
  constructor(private readonly queue: WriteQueue) {}

  /** A key not pending while `maxKeys` are is not counted. */
  add(key: string, addTo: (pending: T) => void, first: () => T, write: (pending: T) => void, maxKeys = Infinity): void {
    const pending = this.queued.get(key)
    if (pending !== undefined) return addTo(pending)
    if (this.queued.size >= maxKeys) return
    const created = first()
    this.queued.set(key, created)
    this.queue.defer(
      () => write(created),
      () => void (this.queued.get(key) === created && this.queued.delete(key)),
    )
  }
}
