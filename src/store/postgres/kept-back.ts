import { SQL } from 'bun'
import { ROWS_LOCK_TIMEOUT_MS } from './batch'
import { withQueryDeadlines } from './deadlines'

/**
 * The first of the two advisory keys a replica holds (shared) while the growth of a conversation whose answer it
 * withheld is unwritten; the second is the conversation's (conversationKey). Two int4 keys are classid, objid and
 * objsubid 2 in pg_locks.
 */
const KEPT_BACK_KEY = 7201402

/** A conversation's own key: the CRC-32 of its id, as an int4 (the same on every replica and version). */
const conversationKey = (id: string): number => Bun.hash.crc32(id) | 0

/** pg_locks shows an int4 key as an oid, unsigned. */
const asObjid = (key: number): number => key >>> 0

/**
 * How long an insert has waited for the lock on stored_responses before it counts as kept back by it: as long as the
 * lock a conversation lookup of a version before this one may wait for (SHARE, ROWS_LOCK_TIMEOUT_MS at most, then
 * held for a moment, while replicas of both run during a rolling deploy). No longer: a turn answered during an index
 * build is with its provider while its ids wait, and a lookup in that time reads the size without it.
 */
const WAITING_LONG_MS = ROWS_LOCK_TIMEOUT_MS

/**
 * How long an insert may have waited for that lock while a lookup still waits with it for the lock to go rather than
 * refusing: an older version's conversation lookup holds SHARE for a moment, which a starved machine stretches to a few
 * hundred milliseconds; an index build or a LOCK TABLE lasts longer, and a writer waiting for it gives up, withholding
 * its answer, only at the database's deadline (Store.flushResponses), well past this.
 */
const LOCK_OUTLASTS_LOOKUP_MS = 1_000

/**
 * In this database: how long the insert waiting longest for the lock an insert takes on stored_responses has waited
 * (`waitedMs`; 0 when none has waited WAITING_LONG_MS), and the conversations a replica announces (`announced`, their
 * keys' objids).
 */
const KEPT_BACK_ANYWHERE = `SELECT coalesce(max(extract(epoch FROM clock_timestamp() - waitstart) * 1000) FILTER (WHERE locktype = 'relation'), 0) AS waited_ms,
    coalesce(string_agg(objid::text, ',') FILTER (WHERE locktype = 'advisory'), '') AS announced
  FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ((locktype = 'relation' AND relation = 'stored_responses'::regclass AND mode = 'RowExclusiveLock' AND NOT granted
      AND waitstart < clock_timestamp() - interval '${WAITING_LONG_MS} milliseconds')
    OR (locktype = 'advisory' AND classid = ${KEPT_BACK_KEY} AND objsubid = 2 AND granted))`

/** Takes, on the announcing session, the keys of `$1` (a JSON array of int4) that it does not hold already. */
const ANNOUNCE = `SELECT count(pg_advisory_lock_shared(${KEPT_BACK_KEY}, k)) FROM (SELECT json_array_elements_text($1::text::json)::int4 AS k) keys
  WHERE NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND classid = ${KEPT_BACK_KEY}
    AND objid = (k::int8 & 4294967295)::oid AND objsubid = 2 AND granted)`

/** Lets go of the keys of `$1` (each held once at most: ANNOUNCE; one not held, its session lost, is a warning only). */
const WITHDRAW = `SELECT count(pg_advisory_unlock_shared(${KEPT_BACK_KEY}, k)) FROM (SELECT json_array_elements_text($1::text::json)::int4 AS k) keys`

/**
 * How often the announcing session is checked to still hold what it announces, while it announces anything: a
 * session ended without this process hearing so (a proxy's idle timeout, a failover) let go of its keys.
 */
const RECHECK_MS = 1_000

/**
 * The announcing session's TCP keepalives, on the server's side (seconds): the session of a replica gone from the
 * network (a partition, a paused VM) ends, and lets go of its keys, within about 25 s rather than the kernel's two hours.
 */
const KEEPALIVES = { tcp_keepalives_idle: 10, tcp_keepalives_interval: 5, tcp_keepalives_count: 3 }

/**
 * How long one answer of KEPT_BACK_ANYWHERE serves a replica's conversation lookups. Growth kept back belongs to a
 * turn whose answer waited for it for the database's deadline before being withheld, far longer than this.
 */
const FRESH_MS = 50

/** How often a lookup asks again while an announced write is no longer waiting (it is being written). */
const POLL_MS = 5

interface State {
  /** When the question was asked (performance.now()). */
  askedAt: number
  waitedMs: number
  announced: Set<number>
}

/**
 * Whether a conversation's stored size may be short of a turn already answered (and paid): a turn whose growth is
 * unwritten, on any replica.
 *
 * A replica that withholds an answer because its conversation's growth is still unwritten (a lock on stored_responses,
 * an index build, a LOCK TABLE; or the database failing the write otherwise) first holds a key of that conversation on
 * a connection of its own (`announce`), until those rows are written (`withdraw`): only that conversation's lookups
 * are refused, on every replica, and a replica cut off from the database meanwhile holds up no other conversation.
 * Postgres lets the keys go with the session; the session is watched (its close, and every RECHECK_MS) and takes
 * them again. Its connection keeps TCP alive (the server's keepalives): a replica gone from the network lets go of
 * them within a minute or so, not the kernel's two hours.
 *
 * Before that, while its answer still waits for a lock on the table, the replica's writer is seen waiting for it in
 * pg_locks, which says not for which conversation: while any insert has waited WAITING_LONG_MS for it, a lookup waits
 * with it, a few milliseconds at a time, and reads the row once the lock has gone and the inserts have landed; it
 * refuses once an insert has waited LOCK_OUTLASTS_LOOKUP_MS (an index build, not an older version's brief SHARE), or
 * at once if its own conversation is announced behind the lock. Ordinary writes, the prune's DELETEs, autovacuum,
 * ANALYZE and CREATE INDEX CONCURRENTLY make no insert wait WAITING_LONG_MS, so none of them makes a lookup wait. A
 * lookup that finds its conversation announced and nothing waiting waits for the rows to land, a few milliseconds at
 * a time, ROWS_LOCK_TIMEOUT_MS at most: the turn after a lock reads the growth written as the lock went rather than
 * being refused.
 *
 * What a replica announces ends with it (killed, stopped past its grace); the growth it withheld answers for does
 * not: it is in stored_response_growth too, and a lookup that finds it there once nothing announces it writes it into
 * the conversation (kept-growth.ts).
 */
export class KeptBackIds {
  /** The conversations announced, each with how many of its rows withheld are unwritten. */
  private readonly held = new Map<string, number>()
  /** The announcement's statements, one after the other on its connection. */
  private applied: Promise<void> = Promise.resolve()
  private asked: { at: number; answer: Promise<State> } | null = null
  private recheck: ReturnType<typeof setInterval> | null = null
  /** One connection of its own, the session holding the keys (no idle timeout: closing it would let them go). */
  private readonly connection: SQL
  /** The same, its queries within the deadline. */
  private readonly session: SQL

  constructor(
    url: string,
    /** The database's deadline: how long a lookup waits at most with inserts kept back by a lock (see the class). */
    private readonly deadlineMs: number,
    /** The main pool, for the question. */
    private readonly sql: SQL,
    private readonly onError: (error: unknown) => void,
  ) {
    let connected = false
    this.connection = new SQL(url, {
      max: 1,
      idleTimeout: 0,
      connectionTimeout: 5,
      connection: KEEPALIVES,
      onconnect: () => (connected = true),
      // A connection that never opened is tried again by the recheck, not at once, over and over.
      onclose: () => {
        if (connected) void this.takeAgain()
        connected = false
      },
    })
    this.session = withQueryDeadlines(this.connection, deadlineMs)
  }

  /** Before an answer is withheld for rows of these conversations: resolves once other replicas see it (or announcing failed, reported). */
  announce(conversations: readonly string[]): Promise<void> {
    for (const id of conversations) this.held.set(id, (this.held.get(id) ?? 0) + 1)
    this.recheck ??= setInterval(this.checkHeld, RECHECK_MS).unref()
    return this.apply(ANNOUNCE, conversations)
  }

  /** Rows of these conversations that were withheld are written. */
  withdraw(conversations: readonly string[]): void {
    const written: string[] = []
    for (const id of conversations) {
      const left = (this.held.get(id) ?? 0) - 1
      if (left > 0) this.held.set(id, left)
      else if (this.held.delete(id)) written.push(id)
    }
    if (this.held.size === 0 && this.recheck !== null) {
      clearInterval(this.recheck)
      this.recheck = null
    }
    // Two conversations may share a key (one chance in 2^32): it is let go of with the last of them.
    const stillHeld = new Set([...this.held.keys()].map(conversationKey))
    const unheld = written.filter((id) => !stillHeld.has(conversationKey(id)))
    if (unheld.length > 0) void this.apply(WITHDRAW, unheld)
  }

  /** takeAgain, unless a check is still under way (a session cut off answers nothing until the deadline). */
  private readonly checkHeld = () => {
    if (this.checking) return
    this.checking = true
    void this.takeAgain().finally(() => (this.checking = false))
  }

  private checking = false

  /** The session was lost (or may have been): whatever is still announced is taken again, on its new connection. */
  takeAgain(): Promise<void> {
    return this.held.size === 0 ? this.applied : this.apply(ANNOUNCE, [...this.held.keys()])
  }

  private apply(statement: string, conversations: readonly string[]): Promise<void> {
    const keys = JSON.stringify([...new Set(conversations.map(conversationKey))])
    return (this.applied = this.applied.then(() => this.session.unsafe(statement, [keys])).then(() => {}, this.onError))
  }

  /** Whether the conversation's growth may be kept back anywhere (see the class); asked before its row is read. */
  async conversation(id: string): Promise<boolean> {
    if (this.held.has(id)) return true
    const key = asObjid(conversationKey(id))
    const until = performance.now() + this.deadlineMs
    let landing: number | null = null
    /** When the question that found the lock gone was asked: the same for every lookup that waited with it. */
    let lockWentAt: number | null = null
    let waitedForLock = false
    /** A poll that must see rows land asks after the answer it polls from; others share the last FRESH_MS's. */
    let askedAfter = -Infinity
    const arrivedAt = performance.now()
    for (;;) {
      const { askedAt, waitedMs, announced }: State = await this.now(askedAfter).then((state) =>
        state.askedAt < arrivedAt && (state.waitedMs > 0 || state.announced.has(key)) ? this.askedSince(arrivedAt) : state,
      )
      const mine = announced.has(key)
      if (waitedMs > 0) {
        if (mine || waitedMs >= LOCK_OUTLASTS_LOOKUP_MS || performance.now() >= until) return true
        waitedForLock = true
        lockWentAt = null
        askedAfter = -Infinity
      } else if (mine) {
        landing ??= performance.now()
        if (performance.now() - landing >= ROWS_LOCK_TIMEOUT_MS) return true
        askedAfter = askedAt
      } else if (waitedForLock && lockWentAt === null) {
        // Asked once more, after the lock went: a writer that gave up on it rather than landing announces its
        // conversations a moment later. Every lookup that waited sees the lock go in the same answer, and asks the
        // one question after it (now).
        lockWentAt = askedAfter = askedAt
        continue
      } else return false
      await Bun.sleep(POLL_MS)
      if (this.held.has(id)) return true
    }
  }

  /**
   * KEPT_BACK_ANYWHERE, asked once for all the lookups of FRESH_MS (pg_locks reads every backend's locks), and asked
   * after `askedAfter`.
   */
  private now(askedAfter: number): Promise<State> {
    if (this.asked && this.asked.at > askedAfter && performance.now() - this.asked.at < FRESH_MS) return this.asked.answer
    const at = performance.now()
    const answer = this.sql.unsafe(KEPT_BACK_ANYWHERE).then(([row]) => ({
      askedAt: at,
      waitedMs: Number(row.waited_ms),
      announced: new Set(String(row.announced).split(',').filter(Boolean).map(Number)),
    }))
    const asked = (this.asked = { at, answer })
    this.lastAskedAt = at
    answer.catch(() => {
      if (this.asked === asked) this.asked = null
    })
    return answer
  }

  /**
   * An answer asked after `arrivedAt`: a lookup that finds a shared answer saying something is kept back, asked before
   * it came, must not be refused on it (the lock may have gone since: the turn after an index build was refused at
   * once, its kept growth unread). Every lookup that came before the next question shares it, and it is asked FRESH_MS
   * after the last at the soonest: during a long lock, pg_locks is still read about once per FRESH_MS, not per lookup.
   */
  private askedSince(arrivedAt: number): Promise<State> {
    if (this.asked && this.asked.at > arrivedAt) return this.asked.answer
    this.next ??= Bun.sleep(Math.max(0, this.lastAskedAt + FRESH_MS - performance.now())).then(() => {
      this.next = null
      return this.now(Infinity)
    })
    return this.next
  }

  /** The question askedSince waits to ask. */
  private next: Promise<State> | null = null
  /** When the last question was asked, kept when a failed one is forgotten. */
  private lastAskedAt = -Infinity

  /** Lets go of everything: the session ends. */
  close(): Promise<void> {
    this.held.clear()
    if (this.recheck !== null) clearInterval(this.recheck)
    this.recheck = null
    return this.connection.close({ timeout: 0 })
  }
}
