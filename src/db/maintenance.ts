/** Rows one maintenance step deletes: a few milliseconds of the one thread that also answers requests. */
export const MAINTENANCE_BATCH = 1000

/**
 * Rows one step deletes where each is its row and index entries at random places, as a random id makes them (a key's
 * text id, hash and user; a stored response's id and user): a user's keys or kept responses at its deletion, the
 * stored responses past their retention. Some 30–65 ms a thousand on a large table against a few ms for log rows (a
 * thousand kept responses of a user among 240,000: 30–40 ms a step; a thousand expired ones among 240,000: 51 ms,
 * among a million: 65 ms; 200: 4–5 ms).
 */
export const RANDOM_ID_BATCH = 200

/**
 * Lets the requests waiting behind a maintenance step run before the next one. A timer, not `setImmediate`: with
 * steps that each write, a /health waited a second behind back-to-back `setImmediate` steps of a user's deletion
 * (the request thread ran 400 ms meanwhile) and 90 ms behind timer steps. A timer costs about 1 ms, so steps share
 * one until they have run SLICE_MS.
 *
 * One slice a turn of the event loop, whatever the number of jobs: the jobs wait their turn in one line, and one
 * timer at a time resumes the first. A timer each would all expire together and run in one timers pass, each job
 * its own slice, with no I/O polled between them: 40 users' deletions under way held the request thread 336 ms.
 */
export function yieldToRequests(): Promise<void> {
  return performance.now() - lastYield < SLICE_MS ? Promise.resolve() : waitInLine()
}

function waitInLine(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve)
    turn ??= setTimeout(resumeFirst, 0)
  })
}

function resumeFirst(): void {
  lastYield = performance.now()
  waiting.shift()!()
  turn = waiting.length > 0 ? setTimeout(resumeFirst, 0) : null
}

/**
 * Slow writes (prunes, an alert check's alerts) wait for room before each batch while `check` says so: the SQLite
 * WAL past its limit, which a flood of such writes outruns the checkpointer to, and which the commit that starts it
 * afresh then cuts on the request thread (1.2 GB of WAL cut in one commit held it 220 ms). Returns the undo.
 */
export function holdSlowWritesWhile(check: () => boolean): () => void {
  holdBackChecks.add(check)
  return () => void holdBackChecks.delete(check)
}

/**
 * Resolves once no check of holdSlowWritesWhile holds slow writes back, or after HELD_BACK_MAX_MS (a check that
 * never clears slows them down, never stops them). Slow work that writes calls it before each batch; nothing on a
 * request's path does (a slice of a request's answer, or a read, waits only for its turn: yieldToRequests).
 */
export async function roomToWrite(): Promise<void> {
  if (!heldBack()) return
  const since = performance.now()
  do await Bun.sleep(HELD_BACK_STEP_MS)
  while (heldBack() && performance.now() - since < HELD_BACK_MAX_MS)
  // Jobs held back together wake in one timers pass: each then waits for a turn of its own, as at a yield (40
  // deletions woken together ran a batch each in one turn and held the request thread 0.4–0.8 s).
  await waitInLine()
}

const heldBack = () => holdBackChecks.size > 0 && [...holdBackChecks].some((check) => check())

/** Steps cheaper than this run back to back up to it: a walk of a million users in windows takes seconds, not minutes. */
const SLICE_MS = 4
let lastYield = 0
/** The jobs waiting for their next slice, in the order they yielded, and the timer that resumes the first. */
const waiting: Array<() => void> = []
let turn: Timer | null = null
const holdBackChecks = new Set<() => boolean>()
/** How often held-back writes look again, and the longest they wait at a time. */
const HELD_BACK_STEP_MS = 10
const HELD_BACK_MAX_MS = 2_000

/**
 * Deletes what `deleteBatch` finds, `batch` rows at a time (`MAINTENANCE_BATCH` unless told), each batch its own short
 * transaction, yielding to the event loop between batches: a prune of millions of rows never holds the
 * request thread (nor the write lock) for more than one batch. `deleteBatch` takes its own parameters and
 * deletes at most `batch` rows (on Postgres, a statement of its own: no row locks held long, none near
 * the query deadline). Stops early when `stopped()` says so. Returns how many went.
 */
export async function deleteInBatches(
  deleteBatch: () => number | Promise<number>,
  stopped: () => boolean,
  batch = MAINTENANCE_BATCH,
): Promise<number> {
  let total = 0
  // The first batch at once, unless other jobs wait for their slice: then at the end of the line, or 40 users'
  // deletions asked for in one turn would each run a batch in it.
  if (waiting.length > 0) await waitInLine()
  for (;;) {
    if (stopped()) return total
    const n = await deleteBatch()
    total += n
    if (n < batch) return total
    await yieldToRequests()
    await roomToWrite()
  }
}
