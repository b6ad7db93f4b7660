/** Rows one maintenance step deletes on Postgres, where a step runs on the database, not the request thread. */
export const MAINTENANCE_BATCH = 1000

/** How many rows the next step of a maintenance job deletes, told what the last one took. */
export interface StepSize {
  readonly rows: number
  took?(ms: number, rows: number): void
}

/** Every step the same size. */
export const fixedSteps = (rows: number): StepSize => ({ rows })

/**
 * Steps sized by what they take, for SQLite, whose steps run on the request thread: what a row costs depends on the
 * table's shape, not its size alone. A row whose index entries lie at random places (a random id: keys, stored
 * responses; a log row among thousands of keys' entries) costs 20–40 µs, one appended in order a few: 1,000 rows a
 * step took 20 ms of the thread for request-log rows of 2,000 keys, 41 ms for stored responses among 240,000 (and 51–65 ms
 * with the commit's checkpoint), against a few ms for one key's. So a step is sized to take about STEP_MS: the next
 * is the last one's rows scaled by how far its time was from that, at most twice or half as many, between MIN_STEP_ROWS
 * and MAX_STEP_ROWS. The first takes 200 rows, some 4 ms of random ids: small enough, and large enough that jobs that
 * run their first steps in one turn by mistake show it (40 users' deletions: 189–282 ms against 50–81).
 */
export class TimedSteps implements StepSize {
  rows = FIRST_STEP_ROWS

  took(ms: number, rows: number): void {
    if (rows < this.rows) return
    const scaled = ms > 0 ? (this.rows * STEP_MS) / ms : Infinity
    this.rows = Math.round(Math.min(MAX_STEP_ROWS, Math.max(MIN_STEP_ROWS, this.rows / 2, Math.min(scaled, this.rows * 2))))
  }
}

/** What a step on the request thread aims to take: a few to a slice (SLICE_MS). */
const STEP_MS = 1
export const FIRST_STEP_ROWS = 200
const MIN_STEP_ROWS = 10
const MAX_STEP_ROWS = 1000

/**
 * Lets the requests waiting behind a maintenance step run before the next one. A timer, not `setImmediate`: with
 * steps that each write, a /health waited a second behind back-to-back `setImmediate` steps of a user's deletion
 * (the request thread ran 400 ms meanwhile) and 90 ms behind timer steps. A timer costs about 1 ms, so steps share
 * one for up to SLICE_MS: the next step runs in the slice only if it fits, taking as long as the one just run. Steps
 * run until the slice was spent let a slice run a step past it: 4–6 ms slices, and a 1 ms timer's ticks 5–6 ms apart
 * hundreds of times a prune (bench/README, round thirty-nine).
 *
 * One slice a turn of the event loop, whatever the number of jobs: the jobs wait their turn in one line, and one
 * timer at a time resumes the first. A timer each would all expire together and run in one timers pass, each job
 * its own slice, with no I/O polled between them: 40 users' deletions under way held the request thread 336 ms.
 */
export function yieldToRequests(): Promise<void> {
  const now = performance.now()
  const lastStep = now - lastGoOn
  if (now - lastYield + lastStep > SLICE_MS) return waitInLine()
  lastGoOn = now
  return Promise.resolve()
}

function waitInLine(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve)
    turn ??= setTimeout(resumeFirst, 0)
  })
}

function resumeFirst(): void {
  lastYield = lastGoOn = performance.now()
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

/** Steps cheaper than this run back to back within it: a walk of a million users in windows takes seconds, not minutes. */
const SLICE_MS = 3
/** When the slice under way began, and when its last step did. */
let lastYield = 0
let lastGoOn = 0
/** The jobs waiting for their next slice, in the order they yielded, and the timer that resumes the first. */
const waiting: Array<() => void> = []
let turn: Timer | null = null
const holdBackChecks = new Set<() => boolean>()
/** How often held-back writes look again, and the longest they wait at a time. */
const HELD_BACK_STEP_MS = 10
const HELD_BACK_MAX_MS = 2_000

/**
 * Deletes what `deleteBatch` finds, `steps.rows` at a time (MAINTENANCE_BATCH unless told), each step its own short
 * transaction, yielding to the event loop between steps: a prune of millions of rows never holds the
 * request thread (nor the write lock) for more than one step. `deleteBatch` takes its own parameters and
 * deletes at most the rows it is given (on Postgres, a statement of its own: no row locks held long, none near
 * the query deadline). Stops early when `stopped()` says so. Returns how many went.
 */
export async function deleteInBatches(
  deleteBatch: (rows: number) => number | Promise<number>,
  stopped: () => boolean,
  steps: StepSize = fixedSteps(MAINTENANCE_BATCH),
): Promise<number> {
  let total = 0
  // The first step at once, unless other jobs wait for their slice: then at the end of the line, or 40 users'
  // deletions asked for in one turn would each run a step in it.
  if (waiting.length > 0) await waitInLine()
  for (;;) {
    if (stopped()) return total
    const rows = steps.rows
    const began = performance.now()
    const n = await deleteBatch(rows)
    steps.took?.(performance.now() - began, n)
    total += n
    if (n < rows) return total
    await yieldToRequests()
    await roomToWrite()
  }
}
