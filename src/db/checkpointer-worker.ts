/**
 * Copies the WAL back into the database file on a thread of its own, so that the request thread never
 * does the bulk of it (SQLite's automatic checkpoint runs in whichever commit crosses the threshold, and
 * its writes and fsync stalled that request, and every other, for hundreds of milliseconds after a long
 * read). PASSIVE: it takes no lock a writer or reader waits on, and does what it can.
 *
 * Under steady writes one checkpoint never finishes: commits land while it copies, so the WAL is never
 * wholly copied back, SQLite never starts it afresh, and the file grows without end (141 MB in 20 s of
 * load). So once the WAL has passed its size limit, the worker goes again at once while frames are left:
 * each round copies only what came during the one before, until one finds nothing new and the gateway's
 * next write starts the WAL afresh. Should that fail until the WAL is four times its limit, the worker
 * asks the gateway's thread to copy what its last round left (see checkpointer.ts; what came during one
 * round): a stall of one fsync there, rather than a WAL without end.
 */
import { Database } from 'bun:sqlite'

declare const self: Worker

export interface CheckpointerStart {
  path: string
  everyMs: number
  /** Frames past which the WAL is brought back to its start. */
  restartFrames: number
}

/** The gateway's thread was asked to copy the tail: no checkpoint here (its own would find this one busy) until it says it is done. */
let waiting = false
self.onmessage = (event: MessageEvent<CheckpointerStart | 'done'>) => {
  if (event.data === 'done') {
    waiting = false
    return
  }
  const { path, everyMs, restartFrames } = event.data
  const db = new Database(path, { strict: true })
  db.exec('PRAGMA busy_timeout = 0')
  const checkpoint = db.query<{ busy: number; log: number; checkpointed: number }, []>('PRAGMA wal_checkpoint(PASSIVE)')
  setInterval(() => {
    if (waiting) return
    try {
      let done = checkpoint.get()!
      if (done.log < restartFrames) return
      for (let round = 0; round < 16 && done.log > done.checkpointed; round++) done = checkpoint.get()!
      if (done.log > done.checkpointed && done.log >= 4 * restartFrames) {
        waiting = true
        self.postMessage('tail')
      }
    } catch {
      // Busy now: the next round tries again.
    }
  }, everyMs)
}
