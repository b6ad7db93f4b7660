import type { Database } from 'bun:sqlite'
import type { CheckpointerStart } from './checkpointer-worker'

/**
 * The size the WAL file goes back to once it has been copied back whole: when the next write starts it
 * afresh, SQLite cuts the file to this (`journal_size_limit`), a truncation in that write and no copy. So
 * a large prune, a burst, or a long records read that held the WAL gives its disk space back without a
 * checkpoint ever running on the request thread. 4,000 pages: the WAL a second of heavy load writes
 * between two checkpoints stays allocated, and is not cut and grown again every second.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/** The WAL's frames (a page and its header each) at that size. */
const RESTART_FRAMES = Math.floor(WAL_SIZE_LIMIT_BYTES / (4096 + 24))

/** How long stopping the checkpointer waits for its thread, and its connection, to be gone. */
export const CHECKPOINTER_STOP_MS = 500

/**
 * Takes WAL checkpoints off the request thread: the gateway's connection stops checkpointing on its own
 * (`wal_autocheckpoint = 0`), and a worker with its own connection checkpoints every `everyMs`. Past the
 * WAL's limit the worker asks this thread to copy what came during its last round (see
 * checkpointer-worker.ts): one short checkpoint between two transactions, once per limit's worth of WAL at
 * most. A database in memory has no WAL: nothing to do. Returns the function that stops it, which resolves
 * once the worker's connection is gone (or after CHECKPOINTER_STOP_MS): a checkpoint it is still running would
 * keep the store's last one, on close, from copying the WAL back.
 */
export function checkpointOffThread(db: Database, path: string, everyMs = 1000): () => Promise<void> {
  if (path === ':memory:') return async () => {}
  db.exec('PRAGMA wal_autocheckpoint = 0')
  db.exec(`PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`)
  const worker = new Worker(new URL('./checkpointer-worker.ts', import.meta.url).href)
  worker.postMessage({ path, everyMs, restartFrames: RESTART_FRAMES } satisfies CheckpointerStart)
  worker.onmessage = () => {
    try {
      db.exec('PRAGMA wal_checkpoint(PASSIVE)')
    } catch {
      // A failed copy: the worker asks again.
    }
    worker.postMessage('done')
  }
  worker.unref()
  return async () => {
    const ended = new Promise((resolve) => worker.addEventListener('close', resolve, { once: true }))
    worker.terminate()
    db.exec('PRAGMA wal_autocheckpoint = 1000')
    let timer: Timer | undefined
    await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, CHECKPOINTER_STOP_MS)))])
    clearTimeout(timer)
  }
}
