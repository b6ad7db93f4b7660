import type { SQL } from 'bun'
import { ROWS_LOCK_TIMEOUT_MS } from './batch'

/** The advisory key a replica holds (shared) while stored ids of an answer it withheld are kept back by a lock. */
const KEPT_BACK_KEY = 7201402

/**
 * In this database: whether a session waits for the lock an insert takes on stored_responses (`waiting`), and whether
 * a replica holds KEPT_BACK_KEY (`announced`; a single bigint key is classid 0, objid the key, objsubid 1).
 */
const KEPT_BACK_ANYWHERE = `SELECT coalesce(bool_or(locktype = 'relation'), false) AS waiting, coalesce(bool_or(locktype = 'advisory'), false) AS announced
  FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((locktype = 'relation' AND relation = 'stored_responses'::regclass AND mode = 'RowExclusiveLock' AND NOT granted)
    OR (locktype = 'advisory' AND classid = 0 AND objid = ${KEPT_BACK_KEY} AND objsubid = 1 AND granted))`

/**
 * How long one answer of KEPT_BACK_ANYWHERE serves a replica's conversation lookups. Growth kept back belongs to a
 * turn whose answer waited for it for the database's deadline before being withheld, far longer than this.
 */
const FRESH_MS = 50

/** How often a lookup asks again while an announced write is no longer waiting (it is being written). */
const POLL_MS = 5

interface State {
  waiting: boolean
  announced: boolean
}

/**
 * Whether a conversation's stored size may be short of a turn already answered (and paid): a turn whose growth a
 * lock on stored_responses keeps back (an index build, a LOCK TABLE), on any replica.
 *
 * A replica's kept-back writer sends its rows again at once, each try waiting for the lock (BatchWriter's
 * `waitOutLocksMs`), so while the lock lasts some session is seen waiting for it in pg_locks. Ordinary writes, the
 * prune's DELETEs, autovacuum, ANALYZE and CREATE INDEX CONCURRENTLY make no insert wait, so none of them counts.
 * Between two tries, and between the lock granted as it goes and the rows committed, nothing waits: so a replica
 * that withholds an answer for its ids first holds KEPT_BACK_KEY on a connection of its own (`announce`), until those
 * rows are written (`withdraw`). A lookup that finds it announced and nothing waiting waits for the rows to land,
 * a few milliseconds at a time, ROWS_LOCK_TIMEOUT_MS at most: the turn after a lock reads the growth written as the
 * lock went rather than being refused.
 */
export class KeptBackIds {
  private held = false
  /** The announcement's statements, one after the other on its connection. */
  private applied: Promise<void> = Promise.resolve()
  private asked: { at: number; answer: Promise<State> } | null = null

  constructor(
    /** One connection of its own (the session holding the key), its queries within the deadline. */
    private readonly session: SQL,
    /** The main pool, for the question. */
    private readonly sql: SQL,
    /** Whether this process's own rows are kept back. */
    private readonly keptBackHere: () => boolean,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Before an answer is withheld for its ids: resolves once other replicas see it (or announcing failed, reported). */
  announce(): Promise<void> {
    if (this.held) return this.applied
    this.held = true
    return (this.applied = this.applied.then(() => this.session`SELECT pg_advisory_lock_shared(${KEPT_BACK_KEY})`).then(() => {}, this.onError))
  }

  /** The rows kept back are written. */
  withdraw(): void {
    if (!this.held) return
    this.held = false
    this.applied = this.applied.then(() => this.session`SELECT pg_advisory_unlock_shared(${KEPT_BACK_KEY})`).then(() => {}, this.onError)
  }

  /** Whether growth may be kept back anywhere (see the class); asked before a conversation's row is read. */
  async anywhere(): Promise<boolean> {
    const since = Date.now()
    for (;;) {
      if (this.keptBackHere()) return true
      const { waiting, announced } = await this.now()
      if (waiting || !announced) return waiting
      if (Date.now() - since >= ROWS_LOCK_TIMEOUT_MS) return true
      await Bun.sleep(POLL_MS)
    }
  }

  /**
   * KEPT_BACK_ANYWHERE, asked once for all the lookups of FRESH_MS (pg_locks reads every backend's locks). An answer
   * that rows are being written is shared only by the callers that came while it was asked: the next asks again.
   */
  private now(): Promise<State> {
    if (this.asked && Date.now() - this.asked.at < FRESH_MS) return this.asked.answer
    const answer = this.sql.unsafe(KEPT_BACK_ANYWHERE).then(([row]) => ({ waiting: Boolean(row.waiting), announced: Boolean(row.announced) }))
    const asked = (this.asked = { at: Date.now(), answer })
    const forget = () => {
      if (this.asked === asked) this.asked = null
    }
    answer.then((state) => state.announced && !state.waiting && forget(), forget)
    return answer
  }
}
