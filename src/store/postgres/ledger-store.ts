import type { SQL, TransactionSQL } from 'bun'
import { decideHold, type HoldRequest, type LedgerStore, type Outcome, type TakenHold } from '../../budget/ledger'
import type { BudgetPeriod } from '../../budget/period'
import type { GatewayError } from '../../http/errors'
import { randomHoldId } from '../hold-id'
import { takenFromRow, type ReservationRow } from '../sqlite/ledger-store'
import { BatchWriter } from './batch'
import { retryingConflicts } from './errors'

/** One settlement as the batch statement reads it (jsonb_to_recordset). */
interface SettlementRow {
  id: number
  request_id: string
  user_id: string
  key_id: string | null
  model: string
  provider: string
  endpoint: string
  amount: number
  cost: number
  prompt_tokens: number
  completion_tokens: number
  cached_tokens: number
  price_id: number | null
  status: string
  latency_ms: number
  stream: boolean
  created_at: number
}

/**
 * Settles a batch in one statement: only the holds this statement deletes are settled (a hold settled
 * already, by this replica or another, or claimed by a sweeper, is not found and not charged again), each
 * user's and key's figures move by their holds' sums, and a usage row is written per settled hold.
 */
const SETTLE = `
WITH s AS (
  SELECT * FROM jsonb_to_recordset($1::text::jsonb) AS x(
    id bigint, request_id text, user_id text, key_id text, model text, provider text, endpoint text, amount bigint, cost bigint,
    prompt_tokens bigint, completion_tokens bigint, cached_tokens bigint, price_id int, status text, latency_ms int, stream boolean, created_at bigint)
),
d AS (DELETE FROM reservations r USING s WHERE r.id = s.id RETURNING r.id, r.key_debited),
settled AS (SELECT s.*, d.key_debited FROM s JOIN d ON d.id = s.id),
u AS (
  UPDATE users SET reserved = users.reserved - a.held, spend = users.spend + a.cost
    FROM (SELECT user_id, sum(amount) AS held, sum(cost) AS cost FROM settled GROUP BY user_id) a
   WHERE users.id = a.user_id
),
k AS (
  UPDATE api_keys SET reserved = api_keys.reserved - a.held, spend = api_keys.spend + a.cost
    FROM (SELECT key_id, sum(CASE WHEN key_debited THEN amount ELSE 0 END) AS held, sum(cost) AS cost
            FROM settled WHERE key_id IS NOT NULL GROUP BY key_id) a
   WHERE api_keys.id = a.key_id
)
INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
                   cached_tokens, cost, reserved, price_id, status, latency_ms, stream)
SELECT request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens,
       cached_tokens, cost, amount, price_id, status, latency_ms, stream
  FROM settled`

/**
 * Settles a batch inside `tx`. The users' rows are locked first and then the keys', each in id order, as a
 * reservation locks its user's row and then its key's: so that settlements and reservations on several
 * replicas always wait for each other in the same order and never deadlock.
 */
async function settleIn(tx: TransactionSQL, batch: SettlementRow[]): Promise<number> {
  const userIds = JSON.stringify([...new Set(batch.map((r) => r.user_id))])
  const keyIds = JSON.stringify([...new Set(batch.flatMap((r) => (r.key_id === null ? [] : [r.key_id])))])
  await tx`SELECT 1 FROM users WHERE id IN (SELECT jsonb_array_elements_text(${userIds}::text::jsonb)) ORDER BY id FOR UPDATE`
  await tx`SELECT 1 FROM api_keys WHERE id IN (SELECT jsonb_array_elements_text(${keyIds}::text::jsonb)) ORDER BY id FOR UPDATE`
  const inserted = await tx.unsafe(SETTLE, [JSON.stringify(batch)])
  return inserted.count as number
}

const settlementRow = (hold: TakenHold, o: Outcome, now: number): SettlementRow => {
  const r = hold.request
  return {
    id: hold.id, request_id: r.requestId, user_id: r.userId, key_id: r.keyId, model: r.model, provider: r.provider, endpoint: r.endpoint,
    amount: r.amount, cost: o.cost, prompt_tokens: o.promptTokens, completion_tokens: o.completionTokens, cached_tokens: o.cachedTokens,
    price_id: r.priceId, status: o.status, latency_ms: Math.round(o.latencyMs), stream: r.stream, created_at: now,
  }
}

/**
 * The ledger's Postgres storage, shared by every replica. A reservation is one transaction that locks the
 * user's row (and the key's) with `SELECT … FOR UPDATE`, decides with the same rule as SQLite
 * (decideHold) and writes the debit and the hold: a second replica reserving for the same user waits for
 * the lock and then reads the first one's hold, so holds can never together pass a ceiling, and a period
 * rolled by one is seen rolled by the next. Settlements are grouped, a few milliseconds' worth in one
 * statement (SETTLE); a batch the database refuses (Postgres down) is kept and sent again, and if this
 * process dies first its holds stay for another replica's sweeper.
 */
export class PostgresLedgerStore implements LedgerStore {
  private readonly settlements: BatchWriter<SettlementRow>

  constructor(
    private readonly sql: SQL,
    onError: (error: unknown) => void = console.error,
  ) {
    this.settlements = new BatchWriter((batch) => retryingConflicts(() => this.sql.begin((tx) => settleIn(tx, firstOfEach(batch)))), onError, {
      retry: true,
      what: 'settlement',
    })
  }

  reserve(r: HoldRequest, now: number, ttlMs: number): Promise<TakenHold | GatewayError> {
    return retryingConflicts(() =>
      this.sql.begin(async (tx) => {
        // Both locks in one round trip; the user's row first, as in every transaction here.
        const [[user], [key]] = await Promise.all([
          tx`SELECT blocked, max_budget, spend, reserved, budget_period, period_start FROM users WHERE id = ${r.userId} FOR UPDATE`,
          r.keyId === null ? Promise.resolve([]) : tx`SELECT max_budget, spend, reserved FROM api_keys WHERE id = ${r.keyId} FOR UPDATE`,
        ])
        const decided = decideHold(
          r,
          user && {
            blocked: user.blocked, maxBudget: numberOrNull(user.max_budget), spend: Number(user.spend), reserved: Number(user.reserved),
            budgetPeriod: user.budget_period as BudgetPeriod | null, periodStart: Number(user.period_start),
          },
          key && { maxBudget: numberOrNull(key.max_budget), spend: Number(key.spend), reserved: Number(key.reserved) },
          now,
        )
        if (!('request' in decided)) return decided
        const h = decided.request
        const id = randomHoldId()
        const keyId = decided.keyDebited ? h.keyId : null
        await tx`
          WITH u AS (
            UPDATE users SET reserved = reserved + ${h.amount},
                   spend = CASE WHEN ${decided.rollTo}::bigint IS NULL THEN spend ELSE 0 END,
                   period_start = coalesce(${decided.rollTo}::bigint, period_start)
             WHERE id = ${h.userId}
          ), k AS (
            UPDATE api_keys SET reserved = reserved + ${h.amount} WHERE id = ${keyId}
          )
          INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited)
          VALUES (${id}, ${h.requestId}, ${h.userId}, ${h.keyId}, ${h.amount}, ${h.model}, ${h.provider}, ${h.endpoint}, ${h.priceId},
                  ${h.stream}, ${now}, ${now + ttlMs}, ${decided.keyDebited})`
        return { id, request: h, createdAt: now, remainingAfter: decided.remainingAfter }
      }),
    )
  }

  settle(hold: TakenHold, outcome: Outcome, now: number): void {
    this.settlements.push(settlementRow(hold, outcome, now))
  }

  async sweep(now: number, charge: (hold: TakenHold, now: number) => Outcome): Promise<number> {
    await this.flush().catch(() => {})
    let total = 0
    for (;;) {
      // SKIP LOCKED: replicas sweeping at once each claim different holds, and a hold being settled by
      // its owner right now is skipped (its DELETE holds the row lock), never charged twice.
      const n = await retryingConflicts(() => this.sql.begin(async (tx) => {
        const rows = (await tx`
          SELECT * FROM reservations WHERE expires_at <= ${now} ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED`) as ReservationRow[]
        if (rows.length === 0) return 0
        const batch = rows.map((row) => {
          const hold = takenFromRow(row)
          return settlementRow(hold, charge(hold, now), now)
        })
        return settleIn(tx, batch)
      }))
      if (n === 0) return total
      total += n
    }
  }

  async userExists(userId: string): Promise<boolean> {
    const rows = await this.sql`SELECT 1 FROM users WHERE id = ${userId}`
    return rows.length > 0
  }

  flush(): Promise<void> {
    return this.settlements.flush()
  }

  close(): Promise<void> {
    return this.settlements.close()
  }
}

const numberOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

/** A hold settled twice in one batch: the first settlement counts, as it would in two batches (the DELETE finds it once). */
function firstOfEach(batch: SettlementRow[]): SettlementRow[] {
  const seen = new Set<number>()
  return batch.filter((row) => !seen.has(row.id) && seen.add(row.id))
}
