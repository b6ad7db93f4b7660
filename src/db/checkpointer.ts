import type { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'
import type { Logger } from '../log/logger'
import type { CheckpointerMessage, CheckpointerStart } from './checkpointer-worker'
import type { FileIdentity } from './file-identity'
import { holdSlowWritesWhile } from './maintenance'

/**
 * The WAL's size past which the checkpointer works to start it afresh (see checkpointer-worker.ts): 4,000 pages, the
 * WAL a second of heavy load writes between two checkpoints.
 */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024

/** The WAL's frames (a page and its header each) at that size. */
const RESTART_FRAMES = Math.floor(WAL_SIZE_LIMIT_BYTES / (4096 + 24))

/**
 * How far the WAL may grow past its limit, or past its size when its tail was last copied, before slow work waits
 * for the checkpointer (holdSlowWritesWhile): so that the commit that starts the WAL afresh cuts the file by little
 * past what it keeps (WAL_FILE_KEPT_BYTES), not by what a flood of slow writes had grown it to (an alert check raising
 * 300,000 alerts grew it to 1.5 GB while commits outran the copy, and the cut held the request thread 220 ms in the
 * kernel). Not less: each wait is a copy of the WAL with its fsync while slow work pauses, and with 4 MB a user's
 * deletion of 300,000 keys took 8 times as long (120 s); with 64 MB it takes 2.5 times as long (37 s).
 * Once the tail is copied the next write starts the WAL afresh, whoever makes it.
 */
const SLOW_WORK_WAL_GROWTH_BYTES = 64 * 1024 * 1024

/**
 * The size the WAL file is cut back to when a write starts it afresh after a complete copy (`journal_size_limit`): a
 * truncation in that write, on whichever thread makes it, and no copy. So a burst, or a long records read that held the
 * WAL, gives its disk space back without a checkpoint on the request thread. Not the WAL's limit: cutting blocks
 * already written out costs ~0.4 ms a MB here (an fsynced 80 MB file cut to 16 MB: 25 ms), and a prune that grew it to
 * the slow work's bound had the commit that started it afresh hold the request thread 35–45 ms, every 68 MB it wrote.
 * Kept as large as slow work may grow it, the file is reused from its start, and cut only past that.
 */
export const WAL_FILE_KEPT_BYTES = WAL_SIZE_LIMIT_BYTES + SLOW_WORK_WAL_GROWTH_BYTES

/** How long stopping the checkpointer waits for its thread, and its connection, to be gone. */
export const CHECKPOINTER_STOP_MS = 500

/** SQLite's own default: a checkpoint in the commit that takes the WAL past 1,000 pages. */
const AUTOCHECKPOINT_PAGES = 1000

/** The longest wait before starting a thread that keeps dying again (the wait doubles from `restartAfterMs`). */
const RESTART_AFTER_MAX_MS = 60_000

interface CheckpointerOptions {
  /** How often the thread copies the WAL back. */
  everyMs?: number
  /** The first wait before a thread that died is started again. */
  restartAfterMs?: number
  logger?: Logger
  /** The file the gateway's connection opened, and what to do once `path` names another (src/db/file-identity.ts). */
  file?: { opened: FileIdentity | null; replaced: () => void }
}

export interface Checkpointer {
  /** Whether a thread is copying the WAL back; if not, the gateway's connection checkpoints in its commits. */
  readonly running: boolean
  /** Times the thread died and was started again. */
  readonly restarts: number
  /** Resolves once the thread's connection is gone (or after CHECKPOINTER_STOP_MS). */
  stop(): Promise<void>
}

/**
 * Takes WAL checkpoints off the request thread: the gateway's connection stops checkpointing on its own
 * (`wal_autocheckpoint = 0`), and a worker with its own connection checkpoints every `everyMs`. Past the
 * WAL's limit the worker asks this thread to copy what came during its last round (see
 * checkpointer-worker.ts): one short checkpoint between two transactions, once per limit's worth of WAL at
 * most. A database in memory has no WAL: nothing to do.
 *
 * A worker that dies (its connection cannot be opened: the database's folder gone for a moment; or its thread
 * ends) would leave nothing copying the WAL back, and it would grow with every commit until the disk is full. So
 * the gateway's connection checkpoints in its commits again, as SQLite does by default (a stall now and then
 * rather than a WAL without end), and a worker is started again, after a wait that doubles while it keeps dying;
 * once one is running, the commits leave checkpoints to it again.
 *
 * Stopping resolves once the worker's connection is gone: a checkpoint it is still running would keep the
 * store's last one, on close, from copying the WAL back.
 */
export function checkpointOffThread(db: Database, path: string, options: CheckpointerOptions = {}): Checkpointer {
  const { everyMs = 1000, restartAfterMs = 1000, logger } = options
  const state = { running: false, restarts: 0 }
  if (path === ':memory:') return { ...state, stop: async () => {} }
  db.exec(`PRAGMA journal_size_limit = ${WAL_FILE_KEPT_BYTES}`)
  let worker: Worker | null = null
  let stopped = false
  let restart: Timer | undefined
  let wait = restartAfterMs
  const walPath = `${path}-wal`
  const walBytes = () => statSync(walPath, { throwIfNoEntry: false })?.size ?? 0
  /** The WAL's size when its tail was last copied, until it starts afresh (and is cut back to its limit). */
  let tailCopiedAtBytes: number | null = null
  // Only while a thread copies the WAL: without one, the commits checkpoint (and start the WAL afresh) on their own.
  const walOutrun = () => {
    if (!state.running) return false
    const bytes = walBytes()
    // The file's size is the WAL's past what it keeps (WAL_FILE_KEPT_BYTES): within it, the file tells nothing.
    if (bytes <= WAL_FILE_KEPT_BYTES) {
      tailCopiedAtBytes = null
      return false
    }
    return tailCopiedAtBytes === null || bytes > tailCopiedAtBytes + SLOW_WORK_WAL_GROWTH_BYTES
  }
  const stopHoldingBack = holdSlowWritesWhile(walOutrun)

  const start = () => {
    const started = new Worker(new URL('./checkpointer-worker.ts', import.meta.url).href)
    started.onmessage = (event: MessageEvent<CheckpointerMessage>) => {
      // A message sent before a stop's terminate may still arrive: the connection's setting is the stop's by then.
      if (stopped) return
      if (event.data === 'replaced') {
        options.file?.replaced()
        return
      }
      if (event.data === 'ready') {
        db.exec('PRAGMA wal_autocheckpoint = 0')
        state.running = true
        wait = restartAfterMs
        return
      }
      try {
        db.exec('PRAGMA wal_checkpoint(PASSIVE)')
        tailCopiedAtBytes = walBytes()
      } catch {
        // A failed copy: the worker asks again.
      }
      started.postMessage('done')
    }
    let error: string | undefined
    started.addEventListener('error', (event) => {
      error = event.message
      event.preventDefault()
    })
    // Whatever ends the thread (an error it did not catch included) closes it; a stop is not a death.
    started.addEventListener('close', () => {
      if (stopped) return
      worker = null
      state.running = false
      db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
      logger?.log('error', 'WAL checkpointer thread died: the database checkpoints in its commits until it runs again', { error, restart_in_ms: wait })
      restart = setTimeout(() => {
        state.restarts++
        start()
      }, wait)
      wait = Math.min(wait * 2, RESTART_AFTER_MAX_MS)
    })
    started.postMessage({ path, everyMs, restartFrames: RESTART_FRAMES, opened: options.file?.opened ?? null } satisfies CheckpointerStart)
    started.unref()
    worker = started
  }

  db.exec('PRAGMA wal_autocheckpoint = 0')
  start()
  return {
    get running() {
      return state.running
    },
    get restarts() {
      return state.restarts
    },
    async stop() {
      stopped = true
      stopHoldingBack()
      clearTimeout(restart)
      db.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
      const current = worker
      worker = null
      state.running = false
      if (!current) return
      const ended = new Promise((resolve) => current.addEventListener('close', resolve, { once: true }))
      current.terminate()
      let timer: Timer | undefined
      await Promise.race([ended, new Promise((resolve) => (timer = setTimeout(resolve, CHECKPOINTER_STOP_MS)))])
      clearTimeout(timer)
    },
  }
}
