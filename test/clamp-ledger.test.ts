import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase, type Db } from '../src/db/open'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { apiKeys, users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { GatewayError } from '../src/http/errors'
import { outputTokensWithin, worstCaseCost, type Price } from '../src/pricing/price'
import { tempDir } from './support/gateway'
import { seededRandom } from './support/seeded'

/**
 * The output clamp, decided in the ledger: a hold that cannot have its full worst case takes what the
 * budget has left if that is at least its least amount, under the same write lock as any hold. Whatever
 * the budgets and however the requests interleave, spend + reserved never passes max_budget, and the
 * output a clamped hold pays for costs no more than the hold.
 */
let dir: string
let db: Db
let writes: WriteQueue
let ledger: Ledger

const SONNET: Price = { id: 1, model: 'ant:sonnet', inputPerMillion: 3_000_000, outputPerMillion: 15_000_000, cachedInputPerMillion: 300_000, perRequest: null, createdAt: 0 }

beforeEach(() => {
  dir = tempDir()
  db = openDatabase(join(dir, 'clamp.db'))
  writes = new WriteQueue(db.$client)
  ledger = new Ledger(new SqliteLedgerStore(db.$client, writes), 60_000)
})
afterEach(() => {
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

function addUser(id: string, maxBudget: number | null) {
  const now = Date.now()
  db.insert(users).values({ id, maxBudget, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
}
function addKey(id: string, userId: string, maxBudget: number | null) {
  const now = Date.now()
  db.insert(apiKeys).values({ id, userId, keyHash: id, keyPrefix: 'tg-x', maxBudget, createdAt: now, updatedAt: now }).run()
}
const figures = (table: 'users' | 'api_keys', id: string) =>
  db.$client.query(`SELECT max_budget, spend, reserved FROM ${table} WHERE id = ?`).get(id) as { max_budget: number | null; spend: number; reserved: number }

/** A request of `input` tokens asking up to `maxOutput`, clamped no lower than `floor`. */
function clamped(userId: string, keyId: string | null, price: Price, input: number, maxOutput: number, floor: number): HoldRequest {
  return {
    requestId: crypto.randomUUID(), userId, keyId, keyHash: keyId, model: price.model, provider: 'ant', endpoint: '/v1/messages', priceId: price.id, stream: true,
    amount: worstCaseCost(price, input, maxOutput),
    minAmount: worstCaseCost(price, input, floor),
  }
}

describe('a clamped hold', () => {
  test("a $0.50 user runs a Claude-Code-sized request (76 KB in, max_tokens 32000) at Sonnet prices: clamped, not refused", async () => {
    addUser('u', 500_000)
    const input = 76_000
    const r = clamped('u', null, SONNET, input, 32_000, 256)
    expect(r.amount).toBeGreaterThan(500_000) // $0.708 worst case: a 402 without the clamp
    const hold = await ledger.reserve(r)
    expect(hold.amount).toBe(500_000)
    const output = outputTokensWithin(SONNET, input, 32_000, hold.amount)
    expect(output).toBe(18_133) // ($0.50 − 76 000 × $3/M) / $15/M
    expect(worstCaseCost(SONNET, input, output)).toBeLessThanOrEqual(hold.amount)
    expect(worstCaseCost(SONNET, input, output + 1)).toBeGreaterThan(hold.amount)
    hold.settle({ cost: worstCaseCost(SONNET, input, output), promptTokens: input, completionTokens: output, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    ledger.flush()
    expect(figures('users', 'u')).toEqual({ max_budget: 500_000, spend: 499_995, reserved: 0 })
  })

  test('fitted to the output it pays for (as admission asks): the hold is that output\'s worst case, the rest stays in the budget', async () => {
    addUser('u', 500_000)
    const input = 76_000
    const fitTo = (left: number) => {
      const output = outputTokensWithin(SONNET, input, 32_000, left)
      return { amount: worstCaseCost(SONNET, input, output), heldTokens: { promptTokens: input, completionTokens: output } }
    }
    const hold = await ledger.reserve({ ...clamped('u', null, SONNET, input, 32_000, 256), fitTo })
    expect(hold.amount).toBe(499_995) // 76 000 × $3/M + 18 133 × $15/M
    expect(hold.remainingAfter).toBe(5)
    // Charged whole (by its owner or the sweeper), it is recorded as the tokens it pays for.
    expect(hold.taken.request.heldTokens).toEqual({ promptTokens: input, completionTokens: 18_133 })
    expect(figures('users', 'u').reserved).toBe(499_995)
    // The output the hold pays for is the one the budget did: the same clamp is sent upstream.
    expect(outputTokensWithin(SONNET, input, 32_000, hold.amount)).toBe(18_133)
  })

  test('below the floor it is a 402 that names the least it needs, and nothing is held', async () => {
    addUser('u', 1_000)
    const error = await ledger.reserve(clamped('u', null, SONNET, 10, 32_000, 256)).catch((e) => e)
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.code).toBe('budget_exceeded')
    expect(error.message).toContain(`$${(worstCaseCost(SONNET, 10, 256) / 1e6).toFixed(6)}`)
    expect(figures('users', 'u').reserved).toBe(0)
  })

  test("a key's ceiling clamps too, below its user's", async () => {
    addUser('u', 10_000_000)
    addKey('k', 'u', 100_000)
    const hold = await ledger.reserve(clamped('u', 'k', SONNET, 1_000, 32_000, 256))
    expect(hold.amount).toBe(100_000)
    expect(figures('api_keys', 'k').reserved).toBe(100_000)
    expect(figures('users', 'u').reserved).toBe(100_000)
  })
})

describe('property: random budgets and requests, reserved concurrently', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    test(`seed ${seed}: spend + reserved never passes max_budget, for the user and the key; a clamped output costs no more than its hold`, async () => {
      const random = seededRandom(seed)
      const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
      const userBudget = int(0, 5_000_000)
      const keyBudget = random() < 0.5 ? null : int(0, 5_000_000)
      addUser('u', userBudget)
      addKey('k', 'u', keyBudget)
      const price: Price = { ...SONNET, inputPerMillion: int(1, 20_000_000), outputPerMillion: int(1, 80_000_000), cachedInputPerMillion: null, perRequest: random() < 0.3 ? int(1, 1000) : null }
      const check = () => {
        for (const [table, id, max] of [['users', 'u', userBudget], ['api_keys', 'k', keyBudget]] as const) {
          const f = figures(table, id)
          if (max !== null) expect(f.spend + f.reserved).toBeLessThanOrEqual(max)
        }
      }
      let clampedHolds = 0
      for (let round = 0; round < 6; round++) {
        const asked = Array.from({ length: int(5, 40) }, () => {
          const input = int(1, 100_000)
          const maxOutput = int(1, 64_000)
          const floor = int(1, 2_000)
          return { input, maxOutput, floor, r: clamped('u', random() < 0.8 ? 'k' : null, price, input, maxOutput, floor) }
        })
        const results = await Promise.allSettled(asked.map((a) => ledger.reserve(a.r)))
        check()
        results.forEach((result, i) => {
          const a = asked[i]!
          if (result.status === 'rejected') {
            expect((result.reason as GatewayError).code).toBe('budget_exceeded')
            return
          }
          const hold = result.value
          if (hold.amount < a.r.amount) clampedHolds++
          expect(hold.amount).toBeLessThanOrEqual(a.r.amount)
          expect(hold.amount).toBeGreaterThanOrEqual(Math.min(a.r.minAmount!, a.r.amount))
          const output = outputTokensWithin(price, a.input, a.maxOutput, hold.amount)
          expect(output).toBeGreaterThanOrEqual(Math.min(a.floor, a.maxOutput))
          const cost = worstCaseCost(price, a.input, output)
          expect(cost).toBeLessThanOrEqual(hold.amount)
          // The provider stops at the clamped max: the real cost is at most that worst case.
          hold.settle({ cost: int(0, cost), promptTokens: a.input, completionTokens: output, cachedTokens: 0, status: 'ok', latencyMs: 1 })
        })
        ledger.flush()
        check()
      }
      expect(figures('users', 'u').reserved).toBe(0)
      expect(clampedHolds).toBeGreaterThan(0)
    })
  }
})
