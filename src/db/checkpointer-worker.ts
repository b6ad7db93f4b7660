/**
 * Copies the WAL back into the database file on a thread of its own, so that the request thread never
 * does the bulk of it (SQLite's automatic checkpoint runs in whichever commit crosses the threshold, and
 * its writes and fsync stalled that request, and every other, for hundreds of milliseconds after a long
 * read). PASSIVE: it takes no lock a writer or reader waits on, and does what it can.
 *
 * Under commits that never pause, this thread alone cannot bring the WAL back to its start: SQLite starts
 * it afresh only in a write that begins with every frame copied back, and a commit always lands while a
 * copy (and its fsync) runs here. So once the WAL is past its limit, this thread asks the gateway's to
 * copy the few frames that came during its last round, between two of its own transactions: its next
 * write then starts the WAL afresh and cuts the file to the limit.
 */
import { Database } from 'bun:sqlite'
import { replacedSince, type FileIdentity } from './file-identity'

declare const self: Worker

export interface CheckpointerStart {
  path: string
  everyMs: number
  /** WAL frames past which the gateway's thread is asked to copy the tail. */
  restartFrames: number
  /** The file the gateway's connection opened: each round checks that `path` still names it. */
  opened: FileIdentity | null
}

/**
 * To the gateway's thread: its connection is open and checkpointing (`ready`), copy the tail (`tail`), or `path`
 * names another file than the one the gateway opened (`replaced`, once).
 */
export type CheckpointerMessage = 'ready' | 'tail' | 'replaced'

/** Rounds run back to back before the gateway's thread is asked for the tail. */
const CATCH_UP_ROUNDS = 8

/** The most frames left to the gateway's thread: their copy and its fsync take a few milliseconds. */
const TAIL_FRAMES = 64

/**
 * The wait between rounds while the WAL is past its limit, in place of `everyMs`: slow work on the gateway's thread
 * waits for its tail to be copied (holdSlowWritesWhile in checkpointer.ts), and a second a round would pace it to a
 * limit's worth of WAL a second.
 */
const PAST_LIMIT_EVERY_MS = 25

/** The gateway's thread was asked to copy the tail: no round here until it says it is done. */
let waiting = false
/**
 * The WAL's frames when the gateway's thread was last asked for the tail: while they stay so, nothing was written
 * since and the next write starts the WAL afresh; asking again would wake an idle gateway 40 times a second.
 */
let framesAtTail = -1
self.onmessage = (event: MessageEvent<CheckpointerStart | 'done'>) => {
  if (event.data === 'done') {
    waiting = false
    return
  }
  const { path, everyMs, restartFrames, opened } = event.data
  let replaced = false
  const db = new Database(path, { strict: true })
  db.exec('PRAGMA busy_timeout = 0')
  const checkpoint = db.query<{ busy: number; log: number; checkpointed: number }, []>('PRAGMA wal_checkpoint(PASSIVE)')
  self.postMessage('ready' satisfies CheckpointerMessage)
  const round = (): number => {
    // One stat a round, here rather than on the request thread.
    if (!replaced && replacedSince(path, opened)) {
      replaced = true
      self.postMessage('replaced' satisfies CheckpointerMessage)
    }
    if (waiting) return PAST_LIMIT_EVERY_MS
    try {
      // `log` is the WAL's frames when this round began: past the limit, the WAL has not started afresh.
      let before = checkpoint.get()!.log
      if (before < restartFrames || before === framesAtTail) return everyMs
      // Each round copies what landed during the one before, a shorter one each time while the copy is
      // faster than the commits: what is left for the gateway's thread is what landed during the last.
      let landed = Infinity
      for (let round = 0; round < CATCH_UP_ROUNDS && landed > TAIL_FRAMES; round++) {
        const log = checkpoint.get()!.log
        landed = log - before
        before = log
      }
      // Commits outrunning the copy: a tail this long would hold the gateway's thread; wait for a calmer round.
      if (landed > TAIL_FRAMES) return PAST_LIMIT_EVERY_MS
      waiting = true
      framesAtTail = before
      self.postMessage('tail' satisfies CheckpointerMessage)
    } catch {
      // Busy now: the next round tries again.
    }
    return PAST_LIMIT_EVERY_MS
  }
  // Each round runs when its timer fires and says how long to wait for the next.
  const rounds = () => setTimeout(rounds, round())
  setTimeout(rounds, everyMs)
}
