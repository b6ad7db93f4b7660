import type { Database } from 'bun:sqlite'
import type { CheckpointerStart } from './checkpointer-worker'

/**
 * The size the WAL file goes back to once it has been copied back whole: when the next write starts it
 * afresh, SQLite cuts the file to this (`journal_size_limit`), a truncation in that write and no copy. So
 * a large prune, a burst, or a long records read that held the WAL gives its disk space back without a
 * checkpoint of it on the request thread. 4,000 pages: a few seconds of heavy load.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/** The WAL's frames (a page and its header each) at that size: past it, the WAL is brought back to its start. */
const RESTART_FRAMES = Math.floor(WAL_SIZE_LIMIT_BYTES / (4096 + 24))

/**
 * Takes WAL checkpoints off the request thread: the gateway's connection stops checkpointing on its own
 * (`wal_autocheckpoint = 0`), and a worker with its own connection checkpoints every `everyMs`. Under
 * steady writes the worker may fail to copy the last frames (see checkpointer-worker.ts): past four times
 * the WAL's limit it leaves the tail of its last round, which this thread copies between two
 * transactions, so that its next write starts the WAL afresh. A database in memory has no WAL: nothing to
 * do. Returns the function that stops it.
 */
export function checkpointOffThread(db: Database, path: string, everyMs = 1000): () => void {
  if (path === ':memory:') return () => {}
  db.exec('PRAGMA wal_autocheckpoint = 0')
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  const worker = new Worker(new URL('./checkpointer-worker.ts', import.meta.url).href)
  worker.postMessage({ path, everyMs, restartFrames: RESTART_FRAMES } satisfies CheckpointerStart)
  worker.onmessage = () => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    } catch {
      // A reader's snapshot or a failed write: the worker will ask again.
    }
    worker.postMessage('done')
  }
  worker.unref()
  return () => {
    worker.terminate()
    // Whatever is left goes back in with the last connection's close, on the way out.
    db.exec('PRAGMA wal_autocheckpoint = 1000')
  }
}
