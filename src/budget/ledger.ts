import type { Database, Statement } from 'bun:sqlite'
import type { WriteQueue } from '../db/write-queue'
import { forbidden, notFound, paymentRequired } from '../http/errors'
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

export interface Outcome {
  /** Micro-USD actually charged. */
  cost: number
  promptTokens: number
  completionTokens: number
  cachedTokens: number
  status: SettleStatus
  latencyMs: number
}

interface ReservationRow {
  id: string
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

const newHoldId = () => `hold_${crypto.randomUUID()}`

/**
 * The budget ledger: reserve before the provider is called, settle after. Statements are prepared
 * once; every method is synchronous, because a transaction that awaits commits at its first await.
 */
export class Ledger {
  private readonly roll: Statement
  private readonly debitUser: Statement<{ remaining: number | null }>
  private readonly debitKey: Statement<{ remaining: number | null }>
  private readonly userFigures: Statement<{ blocked: number; max_budget: number | null; spend: number; reserved: number }>
  private readonly keyFigures: Statement<{ max_budget: number | null; spend: number; reserved: number }>
  private readonly insertHold: Statement
  private readonly takeHold: Statement<ReservationRow>
  private readonly creditUser: Statement
  private readonly creditKey: Statement
  private readonly insertUsage: Statement
  private readonly expiredHolds: Statement<{ id: string }>
  private readonly reserveTx: (r: HoldRequest, id: string, now: number) => number | null
  private readonly sweepTx: (now: number) => number

  constructor(private readonly db: Database, private readonly writes: WriteQueue, private readonly ttlMs: number) {
    // A period that has ended starts over before the budget is checked.
    this.roll = db.prepare(
      `UPDATE users SET spend = 0,
              period_start = CASE budget_period WHEN 'daily' THEN $daily WHEN 'weekly' THEN $weekly ELSE $monthly END
        WHERE id = $userId AND budget_period IS NOT NULL
          AND period_start < CASE budget_period WHEN 'daily' THEN $daily WHEN 'weekly' THEN $weekly ELSE $monthly END`,
    )
    // The check and the debit are one statement: the hold is taken only if it fits.
    this.debitUser = db.prepare(
      `UPDATE users SET reserved = reserved + $amount
        WHERE id = $userId AND blocked = 0 AND (max_budget IS NULL OR spend + reserved + $amount <= max_budget)
        RETURNING max_budget - spend - reserved AS remaining`,
    )
    this.debitKey = db.prepare(
      `UPDATE api_keys SET reserved = reserved + $amount
        WHERE id = $keyId AND (max_budget IS NULL OR spend + reserved + $amount <= max_budget)
        RETURNING max_budget - spend - reserved AS remaining`,
    )
    this.userFigures = db.prepare('SELECT blocked, max_budget, spend, reserved FROM users WHERE id = $userId')
    this.keyFigures = db.prepare('SELECT max_budget, spend, reserved FROM api_keys WHERE id = $keyId')
    this.insertHold = db.prepare(
      `INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at)
       VALUES ($id, $requestId, $userId, $keyId, $amount, $model, $provider, $endpoint, $priceId, $stream, $now, $expiresAt)`,
    )
    // Deleting the row is what makes settlement idempotent: only the first settle finds it.
    this.takeHold = db.prepare('DELETE FROM reservations WHERE id = $id RETURNING *')
    this.creditUser = db.prepare('UPDATE users SET reserved = reserved - $amount, spend = spend + $cost WHERE id = $userId')
    this.creditKey = db.prepare('UPDATE api_keys SET reserved = reserved - $amount, spend = spend + $cost WHERE id = $keyId')
    this.insertUsage = db.prepare(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                          cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
       VALUES ($requestId, $now, $userId, $keyId, $model, $provider, $endpoint, $promptTokens, $completionTokens,
               $cachedTokens, $cost, $reserved, $priceId, $status, $latencyMs, $stream)`,
    )
    this.expiredHolds = db.prepare('SELECT id FROM reservations WHERE expires_at <= $now ORDER BY expires_at LIMIT 1000')

    // IMMEDIATE takes the write lock before the first read, so two processes cannot both read the same
    // figures and both debit: the second waits (busy timeout) and then sees the first one's hold.
    this.reserveTx = db.transaction((r: HoldRequest, id: string, now: number) => this.reserveInTx(r, id, now)).immediate
    this.sweepTx = db.transaction((now: number) => {
      let n = 0
      for (const { id } of this.expiredHolds.all({ now })) {
        // A hold nobody settled in time (a crash, a lost task) is charged at its full amount: the
        // provider may have done all the work, and the hold was the most it could have cost.
        if (this.settleNow(id, null, now)) n++
      }
      return n
    }).immediate
  }

  /**
   * Takes a hold of `r.amount` on the user's (and key's) budget, or refuses: 402 over budget, 403 blocked,
   * 404 unknown user. Returns the handle that must end in exactly one settle or release.
   */
  reserve(r: HoldRequest, now = Date.now()): Hold {
    const id = newHoldId()
    const remaining = this.reserveTx(r, id, now)
    return new Hold(this, id, r.amount, remaining)
  }

  private reserveInTx(r: HoldRequest, id: string, now: number): number | null {
    const starts = periodStarts(now)
    this.roll.run({ userId: r.userId, ...starts })
    const user = this.debitUser.get({ userId: r.userId, amount: r.amount })
    if (!user) {
      const figures = this.userFigures.get({ userId: r.userId })
      if (!figures) throw notFound(`No user with id ${JSON.stringify(r.userId)}.`, 'user_not_found')
      if (figures.blocked) throw forbidden('user_blocked', 'This user is blocked.')
      throw budgetExceeded('user', figures, r.amount)
    }
    if (r.keyId !== null) {
      const key = this.debitKey.get({ keyId: r.keyId, amount: r.amount })
      if (!key) throw budgetExceeded('key', this.keyFigures.get({ keyId: r.keyId }) ?? { max_budget: 0, spend: 0, reserved: 0 }, r.amount)
    }
    this.insertHold.run({
      id, requestId: r.requestId, userId: r.userId, keyId: r.keyId, amount: r.amount, model: r.model,
      provider: r.provider, endpoint: r.endpoint, priceId: r.priceId, stream: r.stream ? 1 : 0, now, expiresAt: now + this.ttlMs,
    })
    return user.remaining
  }

  /**
   * Settles a hold: the hold leaves `reserved`, the cost joins `spend`, a usage row is written. Nobody
   * waits for this, so it goes through the write queue and shares a commit with its neighbours; until
   * then the hold still counts, which only makes the budget stricter.
   */
  settle(holdId: string, outcome: Outcome): void {
    const now = Date.now()
    this.writes.defer(() => void this.settleNow(holdId, outcome, now))
  }

  /** Returns false when the hold was already settled (or never existed). */
  private settleNow(holdId: string, outcome: Outcome | null, now: number): boolean {
    const hold = this.takeHold.get({ id: holdId })
    if (!hold) return false
    const o: Outcome = outcome ?? {
      cost: hold.amount, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status: 'expired', latencyMs: now - hold.created_at,
    }
    this.creditUser.run({ userId: hold.user_id, amount: hold.amount, cost: o.cost })
    if (hold.key_id !== null) this.creditKey.run({ keyId: hold.key_id, amount: hold.amount, cost: o.cost })
    this.insertUsage.run({
      requestId: hold.request_id, now, userId: hold.user_id, keyId: hold.key_id, model: hold.model, provider: hold.provider,
      endpoint: hold.endpoint, promptTokens: o.promptTokens, completionTokens: o.completionTokens, cachedTokens: o.cachedTokens,
      cost: o.cost, reserved: hold.amount, priceId: hold.price_id, status: o.status, latencyMs: Math.round(o.latencyMs), stream: hold.stream,
    })
    return true
  }

  /** Settles every hold past its expiry at its full amount; returns how many. */
  sweep(now = Date.now()): number {
    let total = 0
    for (let n = this.sweepTx(now); n > 0; n = this.sweepTx(now)) total += n
    return total
  }

  /** Writes every queued settlement now; readers of spend and usage call this first. */
  flush(): void {
    this.writes.flush()
  }
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
