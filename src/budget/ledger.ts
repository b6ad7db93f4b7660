import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'
import { forbidden, GatewayError, notFound, paymentRequired } from '../http/errors'
import { Hold } from './hold'
import { microsToUsd } from './money'
import { periodStarts } from './period'

export interface HoldRequest {
  requestId: string
  userId: string
  keyId: string | null
  /** The worst-case cost, micro-USD. */
  amount: number
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

/** A hold taken: its id, and the user's budget left after it (null when unlimited). */
interface Reserved {
  id: number
  remaining: number | null
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
}

/**
 * The budget ledger: reserve before the provider is called, settle after. A hold's statements run
 * inside one of the write queue's transactions: IMMEDIATE (see reserveTx for why) and synchronous, since a
 * transaction that awaits commits at its first await; only the caller of `reserve` waits, for the commit.
 * Statements are prepared once and bind their parameters by position (measurably cheaper than by name).
 */
export class Ledger {
  private readonly roll: Statement<unknown, [string, number, number, number]>
  private readonly debitUser: Statement<{ remaining: number | null }, [string, number]>
  private readonly debitKey: Statement<{ remaining: number | null }, [string, number]>
  private readonly userFigures: Statement<{ blocked: number; max_budget: number | null; spend: number; reserved: number }, [string]>
  private readonly keyFigures: Statement<{ max_budget: number | null; spend: number; reserved: number }, [string]>
  private readonly insertHold: Statement<unknown, [number, string, string, string | null, number, string, string, string, number | null, number, number, number]>
  private readonly takeHold: Statement<ReservationRow, [number]>
  private readonly creditUser: Statement<unknown, [string, number, number]>
  private readonly creditKey: Statement<unknown, [string, number, number]>
  private readonly insertUsage: Statement<unknown, [string, number, string, string | null, string, string, string, number, number, number, number, number, number | null, string, number, number]>
  private readonly expiredHolds: Statement<{ id: number }, [number]>
  private readonly undoUserDebit: Statement<unknown, [string, number]>
  private readonly reserveTx: (r: HoldRequest, now: number) => Reserved | GatewayError
  private readonly sweepTx: (now: number) => number
  /** Holds this process has taken and not yet handed to settlement: what a graceful stop waits for. */
  private open = 0

  constructor(
    private readonly db: Database,
    private readonly writes: WriteQueue,
    private readonly ttlMs: number,
    private readonly observe: SettleObserver = () => {},
  ) {
    // A period that has ended starts over before the budget is checked. ?2 ?3 ?4: daily, weekly, monthly starts.
    this.roll = db.prepare(
      `UPDATE users SET spend = 0,
              period_start = CASE budget_period WHEN 'daily' THEN ?2 WHEN 'weekly' THEN ?3 ELSE ?4 END
        WHERE id = ?1 AND budget_period IS NOT NULL
          AND period_start < CASE budget_period WHEN 'daily' THEN ?2 WHEN 'weekly' THEN ?3 ELSE ?4 END`,
    )
    // The check and the debit are one statement: the hold is taken only if it fits. ?2: the amount.
    this.debitUser = db.prepare(
      `UPDATE users SET reserved = reserved + ?2
        WHERE id = ?1 AND blocked = 0 AND (max_budget IS NULL OR spend + reserved + ?2 <= max_budget)
        RETURNING max_budget - spend - reserved AS remaining`,
    )
    this.debitKey = db.prepare(
      `UPDATE api_keys SET reserved = reserved + ?2
        WHERE id = ?1 AND (max_budget IS NULL OR spend + reserved + ?2 <= max_budget)
        RETURNING max_budget - spend - reserved AS remaining`,
    )
    this.undoUserDebit = db.prepare('UPDATE users SET reserved = reserved - ?2 WHERE id = ?1')
    this.userFigures = db.prepare('SELECT blocked, max_budget, spend, reserved FROM users WHERE id = ?')
    this.keyFigures = db.prepare('SELECT max_budget, spend, reserved FROM api_keys WHERE id = ?')
    this.insertHold = db.prepare(
      `INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // Deleting the row is what makes settlement idempotent: only the first settle finds it.
    this.takeHold = db.prepare('DELETE FROM reservations WHERE id = ? RETURNING *')
    // ?2: the hold's amount, ?3: the cost.
    this.creditUser = db.prepare('UPDATE users SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    this.creditKey = db.prepare('UPDATE api_keys SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    this.insertUsage = db.prepare(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                          cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    this.expiredHolds = db.prepare('SELECT id FROM reservations WHERE expires_at <= ? LIMIT 1000')

    // IMMEDIATE takes the write lock before the first read, so two processes cannot both read the same
    // figures and both debit: the second waits (busy timeout) and then sees the first one's hold. The
    // write queue's transactions, where `reserve` runs, are IMMEDIATE for the same reason.
    this.reserveTx = db.transaction((r: HoldRequest, now: number) => this.reserveInTx(r, now)).immediate
    this.sweepTx = db.transaction((now: number) => {
      let n = 0
      for (const { id } of this.expiredHolds.all(now)) {
        // A hold nobody settled in time (a crash, a lost task) is charged at its full amount: the
        // provider may have done all the work, and the hold was the most it could have cost.
        if (this.settleNow(id, null, now)) n++
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
      return this.handle(r, await this.writes.submit(() => this.reserveInTx(r, now)))
    } catch (error) {
      this.open--
      throw error
    }
  }

  /** `reserve` in a transaction of its own, committed before it returns (tests, tools). */
  reserveNow(r: HoldRequest, now = Date.now()): Hold {
    const hold = this.handle(r, this.reserveTx(r, now))
    this.open++
    return hold
  }

  private handle(r: HoldRequest, taken: Reserved | GatewayError): Hold {
    if (taken instanceof GatewayError) throw taken
    return new Hold(this, taken.id, r.amount, taken.remaining, r.model, r.provider)
  }

  /**
   * The hold's statements. A refusal is returned, not thrown, and leaves nothing behind: it runs in a
   * batch of other requests' writes, which a throw would send down the slow path (see WriteQueue).
   */
  private reserveInTx(r: HoldRequest, now: number): Reserved | GatewayError {
    const starts = periodStarts(now)
    this.roll.run(r.userId, starts.daily, starts.weekly, starts.monthly)
    const user = this.debitUser.get(r.userId, r.amount)
    if (!user) {
      const figures = this.userFigures.get(r.userId)
      if (!figures) return notFound(`No user with id ${JSON.stringify(r.userId)}.`, 'user_not_found')
      if (figures.blocked) return forbidden('user_blocked', 'This user is blocked.')
      return budgetExceeded('user', figures, r.amount)
    }
    if (r.keyId !== null && !this.debitKey.get(r.keyId, r.amount)) {
      this.undoUserDebit.run(r.userId, r.amount)
      return budgetExceeded('key', this.keyFigures.get(r.keyId) ?? { max_budget: 0, spend: 0, reserved: 0 }, r.amount)
    }
    const id = randomHoldId()
    this.insertHold.run(
      id, r.requestId, r.userId, r.keyId, r.amount, r.model, r.provider, r.endpoint, r.priceId, r.stream ? 1 : 0, now, now + this.ttlMs,
    )
    return { id, remaining: user.remaining }
  }

  /**
   * Settles a hold: the hold leaves `reserved`, the cost joins `spend`, a usage row is written. Nobody
   * waits for this, so it goes through the write queue and shares a commit with its neighbours; until
   * then the hold still counts, which only makes the budget stricter.
   */
  settle(holdId: number, outcome: Outcome, hold?: { model: string; provider: string }): void {
    this.open--
    if (hold) this.observe(hold, outcome)
    const now = Date.now()
    this.writes.defer(() => void this.settleNow(holdId, outcome, now))
  }

  /** Returns false when the hold was already settled (or never existed). */
  private settleNow(holdId: number, outcome: Outcome | null, now: number): boolean {
    const hold = this.takeHold.get(holdId)
    if (!hold) return false
    const o: Outcome = outcome ?? {
      cost: hold.amount, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status: 'expired', latencyMs: now - hold.created_at,
    }
    this.creditUser.run(hold.user_id, hold.amount, o.cost)
    if (hold.key_id !== null) this.creditKey.run(hold.key_id, hold.amount, o.cost)
    this.insertUsage.run(
      hold.request_id, now, hold.user_id, hold.key_id, hold.model, hold.provider, hold.endpoint, o.promptTokens,
      o.completionTokens, o.cachedTokens, o.cost, hold.amount, hold.price_id, o.status, Math.round(o.latencyMs), hold.stream,
    )
    return true
  }

  /** Settles every hold past its expiry at its full amount; returns how many. */
  sweep(now = Date.now()): number {
    // A settlement still queued must land first, or its hold would be charged in full as expired.
    this.writes.flush()
    let total = 0
    for (let n = this.sweepTx(now); n > 0; n = this.sweepTx(now)) total += n
    return total
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
