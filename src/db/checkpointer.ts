import type { Database } from 'bun:sqlite'

/**
 * The size the WAL file goes back to once it has been copied back whole: when the next write starts it
 * afresh, SQLite cuts the file to this (`journal_size_limit`), a truncation in that write and no copy. So
 * a large prune, a burst, or a long records read that held the WAL gives its disk space back without a
 * checkpoint ever running on the request thread. 4,000 pages: the WAL a second of heavy load writes
 * between two checkpoints stays allocated, and is not cut and grown again every second.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/**
 * Takes WAL checkpoints off the request thread: the gateway's connection stops checkpointing on its own
 * (`wal_autocheckpoint = 0`), and a worker with its own connection checkpoints every `everyMs`. A database in
 * memory has no WAL: nothing to do. Returns the function that stops it.
 */
export function checkpointOffThread(db: Database, path: string, everyMs = 1000): () => void {
  if (path === ':memory:') return () => {}
  db.exec('PRAGMA wal_autocheckpoint = 0')
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  const worker = new Worker(new URL('./checkpointer-worker.ts', import.meta.url).href)
  worker.postMessage({ path, everyMs })
  worker.unref()
  return () => {
    worker.terminate()
    // Whatever is left goes back in with the last connection's close, on the way out.
    db.exec('PRAGMA wal_autocheckpoint = 1000')
  }
}
