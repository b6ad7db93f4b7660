import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'
import { forbidden, GatewayError, notFound, paymentRequired } from '../http/errors'
import { Hold } from './hold'
import { microsToUsd } from './money'
import { currentPeriod, type BudgetPeriod } from './period'

export interface HoldRequest {
  requestId: string
  userId: string
  keyId: string | null
  /** The worst-case cost, micro-USD. */
  amount: number
  /**
   * With the output clamp: the least hold the request can run on, micro-USD. A budget that cannot cover
   * `amount` but covers this gets a hold of all it has left (decided under the write lock, like any hold),
   * and the caller sends upstream only the output that hold pays for.
   */
  minAmount?: number
  model: string
  provider: string
  endpoint: string
  priceId: number | null
  stream: boolean
}

export type SettleStatus = 'ok' | 'error' | 'aborted' | 'expired'

/** Told of every settlement this process makes (for metrics), with what the hold was for. */
export type SettleObserver = (hold: { model: string; provider: string }, outcome: Outcome) => void

export interface Outcome {
  /** Micro-USD actually charged. */
  cost: number
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  status: SettleStatus
  latencyMs: number
}

/**
 * A hold as the ledger took it. Its owner keeps it in memory, so that settling writes from it and reads
 * nothing back (the sweeper, which has no owner's copy, reads it from the reservations table).
 */
export interface TakenHold {
  id: number
  request: HoldRequest
  createdAt: number
  /** The user's budget left after this hold, micro-USD; null for an unlimited user. */
  remainingAfter: number | null
}

interface UserFigures {
  blocked: number
  max_budget: number | null
  spend: number
  reserved: number
  budget_period: BudgetPeriod | null
  period_start: number
}

interface KeyFigures {
  max_budget: number | null
  spend: number
  reserved: number
}

interface ReservationRow {
  id: number
  request_id: string
  user_id: string
  key_id: string | null
  amount: number
  model: string
  provider: string
  endpoint: string
  price_id: number | null
  stream: number
  created_at: number
  key_debited: number
}

/** Expired holds one sweeper step settles: a few milliseconds of the request thread. */
export const SWEEP_BATCH = 200

/**
 * The budget ledger: reserve before the provider is called, settle after. A hold's statements run
 * inside one of the write queue's transactions: IMMEDIATE (see reserveTx for why) and synchronous, since a
 * transaction that awaits commits at its first await; only the caller of `reserve` waits, for the commit.
 *
 * Statements are prepared once, bind their parameters by position and return nothing: SQLite gives a
 * RETURNING clause an ephemeral table, which made a debit dearer than a SELECT and a plain UPDATE
 * together (bench/statements.ts). Under the write lock a reservation reads the figures, decides in
 * JavaScript, then writes: nothing can change in between.
 */
export class Ledger {
  private readonly userFigures: Statement<UserFigures, [string]>
  private readonly keyFigures: Statement<KeyFigures, [string]>
  private readonly debitUser: Statement<unknown, [string, number]>
  private readonly rollAndDebitUser: Statement<unknown, [string, number, number]>
  private readonly debitKey: Statement<unknown, [string, number]>
  private readonly insertHold: Statement<unknown, [number, string, string, string | null, number, string, string, string, number | null, number, number, number, number]>
  private readonly holdState: Statement<{ key_debited: number }, [number]>
  private readonly deleteHold: Statement<unknown, [number]>
  private readonly creditUser: Statement<unknown, [string, number, number]>
  private readonly creditKey: Statement<unknown, [string, number, number]>
  private readonly insertUsage: Statement<unknown, [string, number, string, string | null, string, string, string, number, number, number, number, number, number | null, string, number, number]>
  private readonly expiredHolds: Statement<ReservationRow, [number]>
  private readonly userExistsStatement: Statement<{ found: number }, [string]>
  private readonly debitKeyWithItsHolds: Statement<unknown, [string]>
  private readonly markKeyHoldsDebited: Statement<unknown, [string]>
  private readonly reserveTx: (r: HoldRequest, now: number) => TakenHold | GatewayError
  private readonly sweepTx: (now: number) => number
  /** Holds this process has taken and not yet handed to settlement: what a graceful stop waits for. */
  private open = 0

  constructor(
    db: Database,
    private readonly writes: WriteQueue,
    private readonly ttlMs: number,
    private readonly observe: SettleObserver = () => {},
  ) {
    this.userFigures = db.prepare('SELECT blocked, max_budget, spend, reserved, budget_period, period_start FROM users WHERE id = ?')
    this.keyFigures = db.prepare('SELECT max_budget, spend, reserved FROM api_keys WHERE id = ?')
    this.debitUser = db.prepare('UPDATE users SET reserved = reserved + ?2 WHERE id = ?1')
    // A period that has ended starts over (spend back to 0) with the first hold taken in the new one.
    this.rollAndDebitUser = db.prepare('UPDATE users SET reserved = reserved + ?2, spend = 0, period_start = ?3 WHERE id = ?1')
    this.debitKey = db.prepare('UPDATE api_keys SET reserved = reserved + ?2 WHERE id = ?1')
    this.insertHold = db.prepare(
      `INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // The row, not the settling process's memory, says whether the key carries the hold: a ceiling set
    // since (takeOverKeyHolds) may have made it so, in this process or another.
    this.holdState = db.prepare('SELECT key_debited FROM reservations WHERE id = ?')
    // Deleting the row is what makes settlement idempotent: only the first settle finds it.
    this.deleteHold = db.prepare('DELETE FROM reservations WHERE id = ?')
    // ?2: the amount held (0 on a key that was not debited), ?3: the cost.
    this.creditUser = db.prepare('UPDATE users SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    this.creditKey = db.prepare('UPDATE api_keys SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    this.insertUsage = db.prepare(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                          cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.expiredHolds = db.prepare(`SELECT * FROM reservations WHERE expires_at <= ? LIMIT ${SWEEP_BATCH}`)
    this.userExistsStatement = db.prepare('SELECT 1 AS found FROM users WHERE id = ?')
    this.debitKeyWithItsHolds = db.prepare(
      'UPDATE api_keys SET reserved = reserved + (SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE key_id = ?1 AND key_debited = 0) WHERE id = ?1',
    )
    this.markKeyHoldsDebited = db.prepare('UPDATE reservations SET key_debited = 1 WHERE key_id = ? AND key_debited = 0')

    // IMMEDIATE takes the write lock before the first read, so two processes cannot both read the same
    // figures and both debit: the second waits (busy timeout) and then sees the first one's hold. The
    // write queue's transactions, where `reserve` runs, are IMMEDIATE for the same reason.
    this.reserveTx = db.transaction((r: HoldRequest, now: number) => this.reserveInTx(r, now)).immediate
    this.sweepTx = db.transaction((now: number) => {
      let n = 0
      for (const row of this.expiredHolds.all(now)) {
        // A hold nobody settled in time (a crash, a lost task) is charged at its full amount: the
        // provider may have done all the work, and the hold was the most it could have cost.
        if (this.settleNow(takenFromRow(row), null, now)) n++
      }
      return n
    }).immediate
  }

  /**
   * Takes a hold of `r.amount` on the user's (and key's) budget, or refuses: 402 over budget, 403 blocked,
   * 404 unknown user. The hold is taken in the transaction that commits this turn's writes, and the
   * promise settles once that commit is done, so the provider is never called on a hold that is not on
   * disk. Resolves to the handle that must end in exactly one settle or release.
   */
  async reserve(r: HoldRequest, now = Date.now()): Promise<Hold> {
    // Counted from the moment it is asked for, so that a graceful stop also waits for holds still queued.
    this.open++
    try {
      return this.handle(await this.writes.submit(() => this.reserveInTx(r, now)))
    } catch (error) {
      this.open--
      throw error
    }
  }

  /** `reserve` in a transaction of its own, committed before it returns (tests, tools). */
  reserveNow(r: HoldRequest, now = Date.now()): Hold {
    const hold = this.handle(this.reserveTx(r, now))
    this.open++
    return hold
  }

  private handle(taken: TakenHold | GatewayError): Hold {
    if (taken instanceof GatewayError) throw taken
    return new Hold(this, taken)
  }

  /**
   * The hold's statements. A refusal is returned, not thrown, and writes nothing: it runs in a batch of
   * other requests' writes, which a throw would send down the slow path (see WriteQueue).
   */
  private reserveInTx(r: HoldRequest, now: number): TakenHold | GatewayError {
    const user = this.userFigures.get(r.userId)
    if (!user) return notFound(`No user with id ${JSON.stringify(r.userId)}.`, 'user_not_found')
    if (user.blocked) return forbidden('user_blocked', 'This user is blocked.')
    const { start, rolled, spend } = currentPeriod(user.budget_period, user.period_start, user.spend, now)
    const least = Math.min(r.minAmount ?? r.amount, r.amount)
    let amount = r.amount
    if (user.max_budget !== null && spend + user.reserved + amount > user.max_budget) {
      amount = user.max_budget - spend - user.reserved
      if (amount < least) return budgetExceeded('user', { max_budget: user.max_budget, spend, reserved: user.reserved }, least)
    }
    // A key without a ceiling has nothing to check a hold against, so its row is left alone until
    // settlement adds the cost to its spend: one page fewer in the commit the request waits for.
    let keyDebited = false
    if (r.keyId !== null) {
      const key = this.keyFigures.get(r.keyId) ?? { max_budget: 0, spend: 0, reserved: 0 }
      if (key.max_budget !== null) {
        if (key.spend + key.reserved + amount > key.max_budget) {
          amount = key.max_budget - key.spend - key.reserved
          if (amount < least) return budgetExceeded('key', key, least)
        }
        keyDebited = true
      }
    }
    // A clamped hold is held, settled and swept as the amount it got.
    if (amount !== r.amount) r = { ...r, amount }
    if (rolled) this.rollAndDebitUser.run(r.userId, r.amount, start)
    else this.debitUser.run(r.userId, r.amount)
    if (keyDebited) this.debitKey.run(r.keyId!, r.amount)
    const id = randomHoldId()
    this.insertHold.run(
      id, r.requestId, r.userId, r.keyId, r.amount, r.model, r.provider, r.endpoint, r.priceId, r.stream ? 1 : 0, now, now + this.ttlMs,
      keyDebited ? 1 : 0,
    )
    const remainingAfter = user.max_budget === null ? null : user.max_budget - spend - user.reserved - r.amount
    return { id, request: r, createdAt: now, remainingAfter }
  }

  /**
   * Settles a hold: the hold leaves `reserved`, the cost joins `spend`, a usage row is written. Nobody
   * waits for this, so it goes through the write queue and shares a commit with its neighbours; until
   * then the hold still counts, which only makes the budget stricter.
   */
  settle(hold: TakenHold, outcome: Outcome): void {
    this.open--
    this.observe(hold.request, outcome)
    const now = Date.now()
    this.writes.defer(() => void this.settleNow(hold, outcome, now))
  }

  /** Returns false when the hold was already settled (or never existed). */
  private settleNow(hold: TakenHold, outcome: Outcome | null, now: number): boolean {
    const row = this.holdState.get(hold.id)
    if (!row) return false
    this.deleteHold.run(hold.id)
    const r = hold.request
    const o: Outcome = outcome ?? {
      cost: r.amount, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status: 'expired', latencyMs: now - hold.createdAt,
    }
    this.creditUser.run(r.userId, r.amount, o.cost)
    if (r.keyId !== null) this.creditKey.run(r.keyId, row.key_debited ? r.amount : 0, o.cost)
    this.insertUsage.run(
      r.requestId, now, r.userId, r.keyId, r.model, r.provider, r.endpoint, o.promptTokens,
      o.completionTokens, o.cachedTokens, o.cost, r.amount, r.priceId, o.status, Math.round(o.latencyMs), r.stream ? 1 : 0,
    )
    return true
  }

  /** Settles every hold past its expiry at its full amount; returns how many. */
  sweep(now = Date.now()): number {
    let total = 0
    for (let n = this.sweepBatch(now); n > 0; n = this.sweepBatch(now)) total += n
    return total
  }

  /** Settles at most SWEEP_BATCH expired holds in one short transaction; returns how many. */
  sweepBatch(now = Date.now()): number {
    // A settlement still queued must land first, or its hold would be charged in full as expired.
    this.writes.flush()
    return this.sweepTx(now)
  }

  /** Whether a user exists: the master key may name one that does not. */
  userExists(userId: string): boolean {
    return this.userExistsStatement.get(userId) !== null
  }

  /**
   * A key given a ceiling takes over the holds already open on it, which its `reserved` did not carry
   * (a key without a ceiling is not debited): from now on they count against the ceiling, and their
   * settlement credits them back. Call inside the transaction that sets the ceiling; holds still queued
   * either way are consistent (a reservation decided after it sees the ceiling, a settlement reads the row).
   */
  takeOverKeyHolds(keyId: string): void {
    this.debitKeyWithItsHolds.run(keyId)
    this.markKeyHoldsDebited.run(keyId)
  }

  get openHolds(): number {
    return this.open
  }

  /** Waits until every hold this process took is settled, or the deadline passes. Returns what is still open. */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs
    while (this.open > 0 && Date.now() < deadline) await Bun.sleep(10)
    return this.open
  }

  /** Writes every queued settlement now; readers of spend and usage call this first. */
  flush(): void {
    this.writes.flush()
  }
}

function takenFromRow(row: ReservationRow): TakenHold {
  const request: HoldRequest = {
    requestId: row.request_id, userId: row.user_id, keyId: row.key_id, amount: row.amount, model: row.model,
    provider: row.provider, endpoint: row.endpoint, priceId: row.price_id, stream: row.stream === 1,
  }
  return { id: row.id, request, createdAt: row.created_at, remainingAfter: null }
}

const randomWords = new Uint32Array(2)

/** A random positive integer below 2^53: exact in JavaScript, and as a SQLite rowid. */
function randomHoldId(): number {
  crypto.getRandomValues(randomWords)
  return (randomWords[0]! & 0x1f_ffff) * 0x1_0000_0000 + randomWords[1]! + 1
}

function budgetExceeded(
  scope: 'user' | 'key',
  figures: { max_budget: number | null; spend: number; reserved: number },
  amount: number,
) {
  const left = Math.max(0, (figures.max_budget ?? 0) - figures.spend - figures.reserved)
  return paymentRequired(
    'budget_exceeded',
    `Budget exceeded for this ${scope}: $${microsToUsd(left).toFixed(6)} remaining, and this request may cost up to $${microsToUsd(amount).toFixed(6)}.`,
  )
}
