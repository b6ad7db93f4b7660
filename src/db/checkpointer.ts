import type { Database } from 'bun:sqlite'

/**
 * Takes WAL checkpoints off the request thread: the gateway's connection stops checkpointing on its own
 * (`wal_autocheckpoint = 0`), and a worker with its own connection checkpoints every `everyMs`. A database in
 * memory has no WAL: nothing to do. Returns the function that stops it.
 */
export function checkpointOffThread(db: Database, path: string, everyMs = 1000): () => void {
  if (path === ':memory:') return () => {}
  db.exec('PRAGMA wal_autocheckpoint = 0')
  const worker = new Worker(new URL('./checkpointer-worker.ts', import.meta.url).href)
  worker.postMessage({ path, everyMs })
  worker.unref()
  return () => {
    worker.terminate()
    // Whatever is left goes back in with the last connection's close, on the way out.
    db.exec('PRAGMA wal_autocheckpoint = 1000')
  }
}
