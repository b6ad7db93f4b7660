import type { SQL } from 'bun'
import { BOUND_LOCK_WAITS, lockTimedOut, ROWS_LOCK_TIMEOUT_MS } from './batch'

const DAY_MS = 86_400_000

/** How many groups are tried alone at once, each on a connection of its own (heldAlone). */
const GROUPS_TRIED_AT_ONCE = 4

/**
 * How long a group tried alone waits for its row: a live transaction inserting it (another replica's first settlement
 * of the day) commits within milliseconds, and the try of all the groups has just waited ROWS_LOCK_TIMEOUT_MS.
 */
const GROUP_WAIT_MS = 5

/** How many groups one connection tries in turn (triedEach): their waits together fit in ROWS_LOCK_TIMEOUT_MS. */
const GROUPS_PER_CONNECTION = Math.floor(ROWS_LOCK_TIMEOUT_MS / GROUP_WAIT_MS)

/** How long a group found held is taken for held without a try: a frozen transaction stays so for long. */
const HELD_REMEMBERED_MS = 1_000

/** What a settlement brings that names its model's daily rollup row: (day, model, status). */
interface Grouped {
  user_id: string
  model: string
  status: string
  created_at: number
}

/**
 * The groups (day, model, status) of the settlements $1 (as JSON), dated as SETTLE dates their usage rows (at the
 * user's period_start if later); those with no row committed are inserted into usage_daily_models as the usage trigger
 * inserts a day's first row, in the trigger's order. Answers those whose row was there already. Run in a transaction
 * that is rolled back: it writes nothing. Its insert waits, as the trigger's would, for a transaction still open that
 * inserted the same group's row. A row committed is only read: an insert would wait for every settlement updating it.
 */
const PROBE = `
WITH g AS (
  SELECT DISTINCT (GREATEST(x.created_at, users.period_start) / 86400000)::int AS day, x.model, x.status
    FROM json_to_recordset($1::text::json) AS x(user_id text, model text, status text, created_at bigint) LEFT JOIN users ON users.id = x.user_id
),
present AS (SELECT day, model, status FROM usage_daily_models WHERE (day, model, status) IN (SELECT day, model, status FROM g)),
inserted AS (
  INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost)
  SELECT day, model, status, 0, 0, 0, 0, 0 FROM (SELECT * FROM g EXCEPT SELECT * FROM present) absent ORDER BY day, model, status
  ON CONFLICT (day, model, status) DO NOTHING RETURNING day, model, status
)
SELECT day, model, status FROM g EXCEPT SELECT day, model, status FROM inserted`

const groupKey = (day: number, model: string, status: string) => `${day}\u0000${model}\u0000${status}`
const groupOf = (s: Grouped) => groupKey(Math.floor(s.created_at / DAY_MS), s.model, s.status)

/**
 * A model's daily rollup row (usage_daily_models) is inserted by the model's first settlement of the day (the usage
 * trigger's INSERT … ON CONFLICT): every model's at 00:00 UTC, and a new model's. Inserted by a transaction still open
 * (a replica frozen mid-settlement), it is a row no SKIP LOCKED sees (SETTLE's busy_rollups, LOCK_MODEL_ROLLUPS): the
 * trigger's insert waits for that transaction, and the settlement's transaction fails at its lock wait's end, with
 * every other model's settlements in it, batch after batch while it lasts.
 *
 * So the groups of a batch's settlements not yet seen to exist are tried first (heldNew) in a transaction of their
 * own, which holds no user's row and writes nothing: those whose row a transaction still open is inserting are held
 * elsewhere, like a row locked, and land later; the others go on at once. A group seen to exist is not tried again
 * (until the next UTC day): a settlement batch pays the extra round trip only at its groups' first settlements of the
 * day on this replica (twice for a row that was not there yet: the settlement's own insert makes it). A group found
 * held is taken for held a moment without a try (HELD_REMEMBERED_MS): the batches meanwhile pay nothing for it.
 *
 * Why a try rolled back rather than the day's rows inserted ahead, empty: a row with no request would list its model
 * in the day's summaries (a settlement whose hold was swept first writes no usage row).
 */
export class NewRollupRows {
  private today = -1
  private readonly seen = new Set<string>()
  /** The groups found held, and until when (performance.now()) they are taken for held without a try. */
  private readonly heldUntil = new Map<string, number>()

  constructor(private readonly sql: SQL) {}

  /**
   * The settlements of `batch` whose model's daily rollup row another transaction, still open, is inserting: held
   * elsewhere (a moment's wait, ROWS_LOCK_TIMEOUT_MS, holding no user's row). All their groups at once (but those
   * found held a moment ago), then, if one is held, each group alone, to tell which (heldAlone).
   */
  async heldNew<T extends Grouped>(batch: T[]): Promise<T[]> {
    const today = Math.floor(Date.now() / DAY_MS)
    if (today !== this.today) {
      this.seen.clear()
      this.heldUntil.clear()
      this.today = today
    }
    const groups = Map.groupBy(batch.filter((s) => !this.seen.has(groupOf(s))), groupOf)
    const held: T[] = []
    for (const [group, rows] of groups) {
      if (!this.heldOfLate(group)) continue
      held.push(...rows)
      groups.delete(group)
    }
    if (groups.size === 0 || (await this.tried([...groups.values()].flat(), ROWS_LOCK_TIMEOUT_MS))) return held
    return held.concat(await this.heldAlone(groups))
  }

  /**
   * Tries each group alone, a few connections at once, each trying its share in turn in one round trip (triedEach) and
   * each group briefly (GROUP_WAIT_MS): a frozen replica at 00:00 UTC holds many models' new rows, and one wait each
   * in turn would outlast the database deadline. A share's waits together fit in one short wait
   * (ROWS_LOCK_TIMEOUT_MS); the groups past what the shares hold are held this time only. Those found held are
   * remembered a while (HELD_REMEMBERED_MS), so that the batches after this one do not try them again.
   */
  private async heldAlone<T extends Grouped>(groups: Map<string, T[]>): Promise<T[]> {
    const all = [...groups]
    const tried = all.slice(0, GROUPS_TRIED_AT_ONCE * GROUPS_PER_CONNECTION)
    const held: T[] = all.slice(tried.length).flatMap(([, rows]) => rows)
    const shares = Array.from({ length: Math.min(GROUPS_TRIED_AT_ONCE, tried.length) }, (_, i) => tried.filter((_, j) => j % GROUPS_TRIED_AT_ONCE === i))
    await Promise.all(shares.map(async (share) => {
      const free = await this.triedEach(share.map(([, rows]) => rows), GROUP_WAIT_MS)
      share.forEach(([group, rows], i) => {
        if (free[i]) return
        held.push(...rows)
        this.heldUntil.set(group, performance.now() + HELD_REMEMBERED_MS)
      })
    }))
    return held
  }

  private heldOfLate(group: string): boolean {
    const until = this.heldUntil.get(group)
    if (until === undefined) return false
    if (until > performance.now()) return true
    this.heldUntil.delete(group)
    return false
  }

  /** Tries the groups of `rows` together (PROBE), waiting `waitMs` at most for a row: false when one was held. */
  private async tried(rows: Grouped[], waitMs: number): Promise<boolean> {
    const [free] = await this.triedEach([rows], waitMs)
    return free!
  }

  /**
   * Tries the groups of each of `parts` (PROBE), one part after the other on one connection, each waiting `waitMs` at
   * most for a row, and remembers those seen to exist; answers, for each part, false when one of its rows was held
   * elsewhere. Sent together, the ROLLBACK too: the tries are one round trip, so a part costs its wait and little
   * more. A transaction of its own each, on a connection of its own, cost four round trips: under load 20-50 ms a
   * try, against a 5 ms wait.
   */
  private async triedEach(parts: Grouped[][], waitMs: number): Promise<boolean[]> {
    const c = await this.sql.reserve()
    const probes = parts.map((rows) => JSON.stringify(rows.map(({ user_id, model, status, created_at }) => ({ user_id, model, status, created_at }))))
    // Each part in the same savepoint, rolled back to after it: a held row fails its part only, and a part writes nothing.
    const sent = [c`BEGIN`, c.unsafe(BOUND_LOCK_WAITS, [`${waitMs}ms`]), c`SAVEPOINT try`]
    const tries = probes.map((json) => {
      const probe = c.unsafe(PROBE, [json])
      sent.push(probe, c`ROLLBACK TO SAVEPOINT try`)
      return probe
    })
    sent.push(c`ROLLBACK`)
    const ended = Promise.allSettled(sent)
    try {
      const outcomes = await Promise.allSettled(tries)
      return outcomes.map((outcome) => {
        if (outcome.status === 'rejected') {
          if (lockTimedOut(outcome.reason)) return false
          throw outcome.reason
        }
        for (const g of outcome.value as Array<{ day: number; model: string; status: string }>) this.seen.add(groupKey(Number(g.day), g.model, g.status))
        return true
      })
    } finally {
      await ended
      c.release()
    }
  }
}
