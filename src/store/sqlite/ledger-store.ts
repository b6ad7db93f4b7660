import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../../db/write-queue'
import type { GatewayError } from '../../http/errors'
import { decideHold, settlementDate, settlementRollTo, SWEEP_BATCH, type HoldRequest, type LedgerStore, type Outcome, type SweptHold, type TakenHold } from '../../budget/ledger'
import type { BudgetPeriod } from '../../budget/period'
import { heldTokenColumns, randomHoldId, takenFromRow, type ReservationRow } from '../holds'
import { toolUsesJson } from '../usage-row'

interface UserRow {
  blocked: number
  max_budget: number | null
  spend: number
  reserved: number
  budget_period: BudgetPeriod | null
  period_start: number
}

interface KeyRow {
  max_budget: number | null
  spend: number
  reserved: number
  key_hash: string
  revoked_at: number | null
  expires_at: number | null
}

/**
 * Expired holds a sweeper step settles here, on the request thread: about a millisecond (charging a hold and its
 * rollup rows, ~45 µs each). 100 took 4.5–4.9 ms, a slice of its own, and a 1 ms timer's ticks 5–7 ms apart
 * (bench/maintenance-block.ts).
 */
const SWEEP_STEP = 25

/**
 * The ledger's SQLite storage. A hold's statements run inside one of the write queue's transactions:
 * IMMEDIATE (the write lock is held from the first read, so two processes cannot both read the same
 * figures and both debit) and synchronous, since a transaction that awaits commits at its first await;
 * only the caller of `reserve` waits, for the commit.
 *
 * Statements are prepared once, bind their parameters by position and return nothing: SQLite gives a
 * RETURNING clause an ephemeral table, which made a debit dearer than a SELECT and a plain UPDATE
 * together (bench/statements.ts). Under the write lock a reservation reads the figures, decides
 * (decideHold), then writes: nothing can change in between.
 */
export class SqliteLedgerStore implements LedgerStore {
  readonly sweepStep = SWEEP_STEP
  private readonly userFigures: Statement<UserRow, [string]>
  private readonly keyFigures: Statement<KeyRow, [string]>
  private readonly debitUser: Statement<unknown, [string, number]>
  private readonly rollAndDebitUser: Statement<unknown, [string, number, number]>
  private readonly debitKey: Statement<unknown, [string, number]>
  private readonly insertHold: Statement<unknown, [number, string, string, string | null, number, string, string, string, number | null, number, number, number, number, number, number]>
  private readonly holdState: Statement<{ key_debited: number }, [number]>
  private readonly deleteHold: Statement<unknown, [number]>
  private readonly userPeriod: Statement<Pick<UserRow, 'budget_period' | 'period_start'>, [string]>
  private readonly creditUser: Statement<unknown, [string, number, number]>
  private readonly rollAndCreditUser: Statement<unknown, [string, number, number, number]>
  private readonly creditKey: Statement<unknown, [string, number, number]>
  private readonly insertUsage: Statement<unknown, [string, number, string, string | null, string, string, string, number, number, number, number, number, number | null, string, number, number, number, string | null]>
  private readonly expiredHolds: Statement<ReservationRow, [number, string, number]>
  private readonly userExistsStatement: Statement<{ found: number }, [string]>
  private readonly debitKeyWithItsHolds: Statement<unknown, [string]>
  private readonly markKeyHoldsDebited: Statement<unknown, [string]>
  private readonly sweepTx: (now: number, charge: (hold: TakenHold, now: number) => Outcome, limit: number, running: string) => SweptHold[]
  private readonly reserveTx: (r: HoldRequest, now: number, ttlMs: number) => TakenHold | GatewayError

  constructor(
    db: Database,
    private readonly writes: WriteQueue,
  ) {
    this.userFigures = db.prepare('SELECT blocked, max_budget, spend, reserved, budget_period, period_start FROM users WHERE id = ?')
    this.keyFigures = db.prepare('SELECT max_budget, spend, reserved, key_hash, revoked_at, expires_at FROM api_keys WHERE id = ?')
    this.debitUser = db.prepare('UPDATE users SET reserved = reserved + ?2 WHERE id = ?1')
    // A period that has ended starts over (spend back to 0) with the first hold taken in the new one; the ended
    // one's start, spend and budget (and when it was set) are kept for the alerts (every right-hand side reads the
    // row as it was).
    this.rollAndDebitUser = db.prepare(
      `UPDATE users SET reserved = reserved + ?2, spend = 0, period_start = ?3,
         last_period_start = period_start, last_period_spend = spend, last_period_budget = max_budget,
         last_period_budget_set_at = budget_set_at WHERE id = ?1`,
    )
    this.debitKey = db.prepare('UPDATE api_keys SET reserved = reserved + ?2 WHERE id = ?1')
    this.insertHold = db.prepare(
      `INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited,
                                 held_prompt_tokens, held_completion_tokens)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // The row, not the settling process's memory, says whether the key carries the hold: a ceiling set
    // since (takeOverKeyHolds) may have made it so, in this process or another.
    this.holdState = db.prepare('SELECT key_debited FROM reservations WHERE id = ?')
    // Deleting the row is what makes settlement idempotent: only the first settle finds it.
    this.deleteHold = db.prepare('DELETE FROM reservations WHERE id = ?')
    // ?2: the amount held (0 on a key that was not debited), ?3: the cost.
    this.userPeriod = db.prepare('SELECT budget_period, period_start FROM users WHERE id = ?')
    this.creditUser = db.prepare('UPDATE users SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    // A settlement landing after the period ended rolls it first, as a hold would (settlementRollTo): ?4 the new start.
    this.rollAndCreditUser = db.prepare(
      `UPDATE users SET reserved = reserved - ?2, spend = ?3, period_start = ?4,
         last_period_start = period_start, last_period_spend = spend, last_period_budget = max_budget,
         last_period_budget_set_at = budget_set_at WHERE id = ?1`,
    )
    this.creditKey = db.prepare('UPDATE api_keys SET reserved = reserved - ?2, spend = spend + ?3 WHERE id = ?1')
    this.insertUsage = db.prepare(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                          cached_tokens, cost, reserved, price_id, status, latency_ms, stream, cache_write_tokens, server_tool_uses)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    // ?2: the ids of the sweeping process's holds still running, a JSON array.
    this.expiredHolds = db.prepare('SELECT * FROM reservations WHERE expires_at <= ?1 AND id NOT IN (SELECT value FROM json_each(?2)) LIMIT ?3')
    this.userExistsStatement = db.prepare('SELECT 1 AS found FROM users WHERE id = ?')
    this.debitKeyWithItsHolds = db.prepare(
      'UPDATE api_keys SET reserved = reserved + (SELECT COALESCE(SUM(amount), 0) FROM reservations WHERE key_id = ?1 AND key_debited = 0) WHERE id = ?1',
    )
    this.markKeyHoldsDebited = db.prepare('UPDATE reservations SET key_debited = 1 WHERE key_id = ? AND key_debited = 0')
    this.reserveTx = db.transaction((r: HoldRequest, now: number, ttlMs: number) => this.reserveInTx(r, now, ttlMs)).immediate
    this.sweepTx = db.transaction((now: number, charge: (hold: TakenHold, now: number) => Outcome, limit: number, running: string) => {
      const swept: SweptHold[] = []
      for (const row of this.expiredHolds.all(now, running, limit)) {
        const hold = takenFromRow(row)
        const outcome = charge(hold, now)
        if (this.settleNow(hold, outcome, now)) swept.push({ hold, outcome })
      }
      return swept
    }).immediate
  }

  reserve(r: HoldRequest, now: number, ttlMs: number): Promise<TakenHold | GatewayError> {
    return this.writes.submit(() => this.reserveInTx(r, now, ttlMs))
  }

  /** `reserve` in a transaction of its own, committed before it returns (tests, tools). */
  reserveNow(r: HoldRequest, now: number, ttlMs: number): TakenHold | GatewayError {
    return this.reserveTx(r, now, ttlMs)
  }

  /**
   * The hold's statements. A refusal is returned, not thrown, and writes nothing: it runs in a batch of
   * other requests' writes, which a throw would send down the slow path (see WriteQueue).
   */
  private reserveInTx(r: HoldRequest, now: number, ttlMs: number): TakenHold | GatewayError {
    const user = this.userFigures.get(r.userId)
    const key = r.keyId === null ? null : this.keyFigures.get(r.keyId)
    const decided = decideHold(
      r,
      user && { blocked: user.blocked === 1, maxBudget: user.max_budget, spend: user.spend, reserved: user.reserved, budgetPeriod: user.budget_period, periodStart: user.period_start },
      key && { maxBudget: key.max_budget, spend: key.spend, reserved: key.reserved, keyHash: key.key_hash, revokedAt: key.revoked_at, expiresAt: key.expires_at },
      now,
    )
    if (!('request' in decided)) return decided
    const h = decided.request
    if (decided.rollTo !== null) this.rollAndDebitUser.run(h.userId, h.amount, decided.rollTo)
    else this.debitUser.run(h.userId, h.amount)
    if (decided.keyDebited) this.debitKey.run(h.keyId!, h.amount)
    const id = randomHoldId()
    this.insertHold.run(
      id, h.requestId, h.userId, h.keyId, h.amount, h.model, h.provider, h.endpoint, h.priceId, h.stream ? 1 : 0, now, now + ttlMs,
      decided.keyDebited ? 1 : 0, ...heldTokenColumns(h),
    )
    return { id, request: h, createdAt: now, remainingAfter: decided.remainingAfter }
  }

  settle(hold: TakenHold, outcome: Outcome, now: number, onSettled?: (charged: boolean) => void): void {
    this.writes.defer(() => this.settleNow(hold, outcome, now), onSettled)
  }

  /** Returns false when the hold was already settled (or never existed). */
  private settleNow(hold: TakenHold, o: Outcome, now: number): boolean {
    const row = this.holdState.get(hold.id)
    if (!row) return false
    this.deleteHold.run(hold.id)
    const r = hold.request
    // Read under the write lock, like a reservation's figures: the period the cost counts in (and its usage
    // row is dated in) is the one standing at `now`, rolled here if no hold has rolled it yet, or the stored
    // one if it began after `now`.
    const user = this.userPeriod.get(r.userId)
    const rollTo = user ? settlementRollTo({ budgetPeriod: user.budget_period, periodStart: user.period_start }, now) : null
    if (rollTo !== null) this.rollAndCreditUser.run(r.userId, r.amount, o.cost, rollTo)
    else this.creditUser.run(r.userId, r.amount, o.cost)
    if (r.keyId !== null) this.creditKey.run(r.keyId, row.key_debited ? r.amount : 0, o.cost)
    this.insertUsage.run(
      r.requestId, settlementDate(user && { periodStart: user.period_start }, now), r.userId, r.keyId, r.model, r.provider, r.endpoint, o.promptTokens,
      o.completionTokens, o.cachedTokens, o.cost, r.amount, r.priceId, o.status, Math.round(o.latencyMs), (o.stream ?? r.stream) ? 1 : 0,
      o.cacheWriteTokens ?? 0, toolUsesJson(o.serverToolUses),
    )
    return true
  }

  async sweepBatch(now: number, charge: (hold: TakenHold, now: number) => Outcome, limit: number, running: readonly number[]): Promise<SweptHold[]> {
    // A settlement still queued must land first, or its hold would be charged in full as expired.
    this.writes.flush()
    return this.sweepTx(now, charge, limit, JSON.stringify(running))
  }

  /** Every expired hold, synchronously, batch after batch; returns how many. */
  sweepNow(now: number, charge: (hold: TakenHold, now: number) => Outcome): number {
    this.writes.flush()
    let total = 0
    for (let n = this.sweepTx(now, charge, SWEEP_BATCH, '[]').length; n > 0; n = this.sweepTx(now, charge, SWEEP_BATCH, '[]').length) total += n
    return total
  }

  async userExists(userId: string): Promise<boolean> {
    return this.userExistsStatement.get(userId) !== null
  }

  /**
   * A key given a ceiling takes over the holds already open on it, which its `reserved` did not carry
   * (a key without a ceiling is not debited): from now on they count against the ceiling, and their
   * settlement credits them back. Call inside the transaction that sets the ceiling.
   */
  takeOverKeyHolds(keyId: string): void {
    this.debitKeyWithItsHolds.run(keyId)
    this.markKeyHoldsDebited.run(keyId)
  }

  async flush(): Promise<void> {
    await this.writes.flushed()
  }
}
