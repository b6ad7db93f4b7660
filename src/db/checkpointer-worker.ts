/**
 * Copies the WAL back into the database file on a thread of its own, so that the request thread never
 * does (SQLite's automatic checkpoint runs in whichever commit crosses the threshold, and its writes and
 * fsync stalled that request, and every other, for hundreds of milliseconds after a long read). PASSIVE:
 * it takes no lock a writer or reader waits on, and does what it can.
 */
import { Database } from 'bun:sqlite'

declare const self: Worker

let db: Database | undefined
self.onmessage = (event: MessageEvent<{ path: string; everyMs: number }>) => {
  db = new Database(event.data.path, { strict: true })
  db.exec('PRAGMA busy_timeout = 0')
  setInterval(() => {
    try {
      db!.exec('PRAGMA wal_checkpoint(PASSIVE)')
    } catch {
      // Busy now: the next round tries again.
    }
  }, event.data.everyMs)
}
