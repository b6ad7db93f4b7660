/**
 * The ledger's rules, checked against a store: one suite, run on SQLite (test/ledger-stores.test.ts) and
 * on Postgres (test/engines/ledger.engine.ts). Everything goes through the Store interface, so the same
 * expectations hold whichever engine keeps the figures.
 */
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Ledger, type HoldRequest, type Outcome } from '../../src/budget/ledger'
import { periodStart, type BudgetPeriod } from '../../src/budget/period'
import { GatewayError } from '../../src/http/errors'
import type { Store } from '../../src/store/store'
import { seededRandom } from './seeded'

const TTL = 60_000
/**
 * A sweep this long after a hold's expiry takes it on every store. Postgres lays the times a test passes
 * onto the database's clock as each statement runs (DB_CLOCK in src/store/postgres/ledger-store.ts), so a
 * hold's expiry and a sweep's cut-off taken at the same time may land a millisecond or so apart.
 */
const PAST_EXPIRY = 1_000

/** A hold; a key's secret hashes to its id here (addKey). */
export const holdFor = (userId: string, amount: number, keyId: string | null = null, minAmount?: number): HoldRequest => ({
  requestId: crypto.randomUUID(), userId, keyId, keyHash: keyId, amount, minAmount, model: 'mock:m', provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})
export const done = (cost: number): Outcome => ({ cost, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p
  } catch (e) {
    if (e instanceof GatewayError) return e
    throw e
  }
  throw new Error('expected a refusal')
}

/** Opens a fresh, empty store for each test, and a second handle on the same database (another process). */
export interface StoreFactory {
  name: string
  open(): Promise<{ store: Store; other(): Promise<Store>; cleanup(): Promise<void> }>
}

export function ledgerContract(factory: StoreFactory) {
  describe(`ledger on ${factory.name}`, () => {
    let store: Store
    let ledger: Ledger
    let opened: Awaited<ReturnType<StoreFactory['open']>>

    const t = () => store.tables
    const addUser = async (id: string, maxBudget: number | null, budgetPeriod: BudgetPeriod | null = null, now = Date.now()) => {
      await store.db.insert(t().users).values({ id, maxBudget, budgetPeriod, periodStart: periodStart(budgetPeriod, now), createdAt: now, updatedAt: now })
    }
    const addKey = async (id: string, userId: string, maxBudget: number | null) => {
      const now = Date.now()
      await store.db.insert(t().apiKeys).values({ id, userId, keyHash: id, keyPrefix: 'tg-x', maxBudget, createdAt: now, updatedAt: now })
    }
    const user = async (id: string) => {
      await ledger.flush()
      const [u] = await store.db.select().from(t().users).where(eq(t().users.id, id))
      return { spend: u!.spend, reserved: u!.reserved, periodStart: u!.periodStart }
    }
    const key = async (id: string) => {
      await ledger.flush()
      const [k] = await store.db.select().from(t().apiKeys).where(eq(t().apiKeys.id, id))
      return { spend: k!.spend, reserved: k!.reserved }
    }
    const usageRows = async () => {
      await ledger.flush()
      return (await store.db.select().from(t().usage)).map((u) => ({ cost: u.cost, status: u.status })).sort((a, b) => a.cost - b.cost)
    }
    const openHolds = async () => (await store.openReservations()).n

    beforeEach(async () => {
      opened = await factory.open()
      store = opened.store
      ledger = new Ledger(store.ledger, TTL)
    })
    afterEach(async () => {
      await opened.cleanup()
    })

    test('takes a hold only while spend + reserved + amount fits, and says what is left', async () => {
      await addUser('u', 1000)
      expect((await ledger.reserve(holdFor('u', 600))).remainingAfter).toBe(400)
      const refused = await refusal(ledger.reserve(holdFor('u', 401)))
      expect([refused.status, refused.code]).toEqual([402, 'budget_exceeded'])
      expect(refused.message).toContain('$0.000400 remaining')
      expect((await ledger.reserve(holdFor('u', 400))).remainingAfter).toBe(0)
      expect((await user('u')).reserved).toBe(1000)
    })

    test('a key ceiling below the user ceiling refuses, and a refusal leaves no hold anywhere', async () => {
      await addUser('u', 10_000)
      await addKey('k', 'u', 500)
      await ledger.reserve(holdFor('u', 400, 'k'))
      const refused = await refusal(ledger.reserve(holdFor('u', 200, 'k')))
      expect(refused.message).toContain('for this key')
      expect((await user('u')).reserved).toBe(400)
      expect(await key('k')).toEqual({ spend: 0, reserved: 400 })
      expect(await openHolds()).toBe(1)
    })

    test('blocked and unknown users are refused with 403 and 404', async () => {
      await addUser('b', null)
      await store.db.update(t().users).set({ blocked: true }).where(eq(t().users.id, 'b'))
      expect((await refusal(ledger.reserve(holdFor('b', 1)))).status).toBe(403)
      expect((await refusal(ledger.reserve(holdFor('ghost', 1)))).status).toBe(404)
      expect(await ledger.userExists('b')).toBe(true)
      expect(await ledger.userExists('ghost')).toBe(false)
    })

    test('a key whose row is gone (its user deleted and created again, the key still cached) is refused 401, whatever the hold, and the holds asked for beside it are taken', async () => {
      await addUser('u', 10_000)
      await addKey('k', 'u', null)
      expect(await store.deleteUser('u')).toBe(true)
      await addUser('u', 10_000)
      await addUser('other', 10_000)
      // In one turn of the event loop: one batch, on a store that batches holds.
      const [free, priced, beside] = await Promise.allSettled([
        ledger.reserve(holdFor('u', 0, 'k')),
        ledger.reserve(holdFor('u', 100, 'k')),
        ledger.reserve(holdFor('other', 100)),
      ])
      for (const r of [free, priced]) {
        expect(r.status).toBe('rejected')
        const e = (r as PromiseRejectedResult).reason
        expect(e).toBeInstanceOf(GatewayError)
        expect([e.status, e.code]).toEqual([401, 'invalid_api_key'])
      }
      expect(beside.status).toBe('fulfilled')
      expect((beside as PromiseFulfilledResult<{ remainingAfter: number | null }>).value.remainingAfter).toBe(9_900)
      expect(await openHolds()).toBe(1)
      expect((await user('u')).reserved).toBe(0)
    })

    test('a key revoked or expired since this process\'s last hold on it is refused 401 by the hold, which reads the key\'s row: nothing held', async () => {
      await addUser('u', 10_000)
      await addKey('revoked', 'u', null)
      await addKey('expired', 'u', 5_000)
      await addKey('expiring-later', 'u', null)
      for (const k of ['revoked', 'expired', 'expiring-later']) await ledger.reserve(holdFor('u', 100, k))
      // Behind every cache (another process's change whose news was lost), and with no figure of a budget moved.
      const now = Date.now()
      await store.db.update(t().apiKeys).set({ revokedAt: now }).where(eq(t().apiKeys.id, 'revoked'))
      await store.db.update(t().apiKeys).set({ expiresAt: now }).where(eq(t().apiKeys.id, 'expired'))
      await store.db.update(t().apiKeys).set({ expiresAt: now + 60_000 }).where(eq(t().apiKeys.id, 'expiring-later'))
      for (const k of ['revoked', 'expired']) {
        const refused = await refusal(ledger.reserve(holdFor('u', 100, k), now))
        expect([k, refused.status, refused.code]).toEqual([k, 401, 'invalid_api_key'])
      }
      expect((await ledger.reserve(holdFor('u', 100, 'expiring-later'), now)).remainingAfter).toBe(9_600)
      expect(await openHolds()).toBe(4)
      expect((await user('u')).reserved).toBe(400)
      expect(await key('expired')).toEqual({ spend: 0, reserved: 100 })
    })

    test('a key rotated since this process\'s last hold on it is refused 401 for its old secret by the hold, which reads the key\'s row: nothing held; the new secret is held', async () => {
      await addUser('u', 10_000)
      await addKey('k', 'u', 5_000)
      await ledger.reserve(holdFor('u', 100, 'k'))
      // Behind every cache (another process's rotation whose news was lost), and with no figure of a budget moved:
      // a store that remembers the figures of its last hold (Postgres) must find the new secret under the lock.
      await store.db.update(t().apiKeys).set({ keyHash: 'k-rotated' }).where(eq(t().apiKeys.id, 'k'))
      const refused = await refusal(ledger.reserve(holdFor('u', 100, 'k')))
      expect([refused.status, refused.code]).toEqual([401, 'invalid_api_key'])
      expect((await ledger.reserve({ ...holdFor('u', 100, 'k'), keyHash: 'k-rotated' })).remainingAfter).toBe(9_800)
      expect(await openHolds()).toBe(2)
      expect(await key('k')).toEqual({ spend: 0, reserved: 200 })
    })

    test('an ended budget period rolls over inside the reservation', async () => {
      const monday = Date.UTC(2026, 10, 23, 10)
      await addUser('d', 1000, 'daily', monday)
      ;(await ledger.reserve(holdFor('d', 1000), monday)).settle(done(1000), monday)
      await ledger.flush()
      expect((await refusal(ledger.reserve(holdFor('d', 1), monday + 3_600_000))).code).toBe('budget_exceeded')
      const tomorrow = Date.UTC(2026, 10, 24, 0, 0, 1)
      expect((await ledger.reserve(holdFor('d', 1), tomorrow)).remainingAfter).toBe(999)
      expect(await user('d')).toEqual({ spend: 0, reserved: 1, periodStart: Date.UTC(2026, 10, 24) })
    })

    test('two processes rolling the same period at once roll it once: the new period holds exactly its budget', async () => {
      const yesterday = Date.UTC(2026, 10, 23, 10)
      await addUser('r', 1000, 'daily', yesterday)
      ;(await ledger.reserve(holdFor('r', 900), yesterday)).settle(done(900), yesterday)
      await ledger.flush()
      const otherStore = await opened.other()
      const other = new Ledger(otherStore.ledger, TTL)
      const today = Date.UTC(2026, 10, 24, 9)
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? ledger : other).reserve(holdFor('r', 100), today)),
      )
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(10)
      expect(await user('r')).toEqual({ spend: 0, reserved: 1000, periodStart: Date.UTC(2026, 10, 24) })
      await otherStore.close()
    })

    test('concurrent reservations from two processes never pass the ceiling: exactly the ones that fit', async () => {
      await addUser('u', 5_000)
      await addKey('k', 'u', 3_000)
      const otherStore = await opened.other()
      const other = new Ledger(otherStore.ledger, TTL)
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, (_, i) => (i % 2 ? ledger : other).reserve(holdFor('u', 100, i % 3 === 0 ? null : 'k'))),
      )
      const taken = results.filter((r) => r.status === 'fulfilled').length
      expect(taken).toBe(50)
      const k = await key('k')
      expect(k.reserved).toBe(3_000)
      expect((await user('u')).reserved).toBe(5_000)
      await otherStore.close()
    })

    test('reservations from two processes racing settlements and a period roll-over stay exact: each period holds exactly its budget', async () => {
      const yesterday = Date.UTC(2026, 10, 23, 10)
      const today = Date.UTC(2026, 10, 24, 9)
      await addUser('r', 10_000, 'daily', yesterday)
      await addKey('kr', 'r', 50_000)
      const otherStore = await opened.other()
      const other = new Ledger(otherStore.ledger, TTL)
      // 30 workers per process, each reserving and at once settling at the full amount until refused: a
      // settlement lands while the other holds are being decided, on this process and on the other.
      const race = async (now: number) => {
        let taken = 0
        const worker = async (l: Ledger, i: number) => {
          for (;;) {
            try {
              const h = await l.reserve(holdFor('r', 100, i % 2 ? 'kr' : null), now)
              taken++
              h.settle(done(100), now)
            } catch (e) {
              expect((e as GatewayError).code).toBe('budget_exceeded')
              return
            }
          }
        }
        await Promise.all(Array.from({ length: 60 }, (_, i) => worker(i % 2 ? ledger : other, i)))
        await Promise.all([ledger.flush(), other.flush()])
        return taken
      }
      expect(await race(yesterday)).toBe(100)
      expect(await race(today)).toBe(100)
      expect(await user('r')).toEqual({ spend: 10_000, reserved: 0, periodStart: Date.UTC(2026, 10, 24) })
      const rows = await store.db.select().from(t().usage)
      expect(rows.length).toBe(200)
      expect(rows.every((r) => r.cost === 100 && r.status === 'ok')).toBe(true)
      expect(await key('kr')).toEqual({ spend: 100 * rows.filter((r) => r.keyId === 'kr').length, reserved: 0 })
      expect(await openHolds()).toBe(0)
      await otherStore.close()
    })

    test('a process decides on the holds another process took since its own last one', async () => {
      await addUser('s', 1000)
      await addKey('ks', 's', 700)
      const otherStore = await opened.other()
      const other = new Ledger(otherStore.ledger, TTL)
      await ledger.reserve(holdFor('s', 300, 'ks'))
      await other.reserve(holdFor('s', 400, 'ks'))
      expect((await refusal(ledger.reserve(holdFor('s', 1, 'ks')))).message).toContain('this key')
      expect((await ledger.reserve(holdFor('s', 300))).remainingAfter).toBe(0)
      expect((await refusal(ledger.reserve(holdFor('s', 1)))).message).toContain('this user')
      expect(await user('s')).toEqual({ spend: 0, reserved: 1000, periodStart: 0 })
      expect(await key('ks')).toEqual({ spend: 0, reserved: 700 })
      await otherStore.close()
    })

    test('a process decides on a ceiling an admin lowered since its own last hold', async () => {
      await addUser('s', 1000)
      await ledger.reserve(holdFor('s', 300))
      await store.db.update(t().users).set({ maxBudget: 400 }).where(eq(t().users.id, 's'))
      expect((await refusal(ledger.reserve(holdFor('s', 101)))).message).toContain('this user')
      expect((await ledger.reserve(holdFor('s', 100))).remainingAfter).toBe(0)
      expect(await user('s')).toEqual({ spend: 0, reserved: 400, periodStart: 0 })
    })

    test('the output clamp takes what is left when it covers the least hold, and refuses below it', async () => {
      await addUser('u', 1000)
      await addKey('k', 'u', 700)
      const h = await ledger.reserve(holdFor('u', 900, 'k', 200))
      expect(h.amount).toBe(700)
      expect(h.remainingAfter).toBe(300)
      expect((await refusal(ledger.reserve(holdFor('u', 500, null, 301)))).code).toBe('budget_exceeded')
      expect((await ledger.reserve(holdFor('u', 500, null, 300))).amount).toBe(300)
    })

    test('settle moves the hold to spend, writes one usage row; a second settle does nothing', async () => {
      await addUser('u', 1000)
      await addKey('k', 'u', null)
      const h = await ledger.reserve(holdFor('u', 700, 'k'))
      ledger.settle(h.taken, done(123))
      ledger.settle(h.taken, done(456))
      expect(await user('u')).toMatchObject({ spend: 123, reserved: 0 })
      expect(await key('k')).toEqual({ spend: 123, reserved: 0 })
      expect(await usageRows()).toEqual([{ cost: 123, status: 'ok' }])
    })

    test('a key given a ceiling takes over the holds open on it; each settlement credits its share back', async () => {
      await addUser('u', null)
      await addKey('k', 'u', null)
      const before = await ledger.reserve(holdFor('u', 300, 'k'))
      expect(await key('k')).toEqual({ spend: 0, reserved: 0 })
      await store.updateKey('k', { maxBudget: 1000 }, true)
      expect(await key('k')).toEqual({ spend: 0, reserved: 300 })
      const after = await ledger.reserve(holdFor('u', 400, 'k'))
      expect((await refusal(ledger.reserve(holdFor('u', 301, 'k')))).code).toBe('budget_exceeded')
      before.settle(done(100))
      expect(await key('k')).toEqual({ spend: 100, reserved: 400 })
      after.settle(done(200))
      expect(await key('k')).toEqual({ spend: 300, reserved: 0 })
    })

    test('the sweeper charges an expired hold in full, once, even with two processes sweeping at once', async () => {
      await addUser('u', null)
      const now = Date.now()
      // What each process's metrics are told: the holds it swept, each once.
      const observed: Outcome[] = []
      const observing = new Ledger(store.ledger, TTL, (_hold, outcome) => observed.push(outcome))
      for (let i = 0; i < 30; i++) await ledger.reserve(holdFor('u', 10 + i), now)
      await ledger.reserve(holdFor('u', 5_000), now + 30_000)
      const otherStore = await opened.other()
      const other = new Ledger(otherStore.ledger, TTL, (_hold, outcome) => observed.push(outcome))
      const [a, b] = await Promise.all([observing.sweep(now + TTL + PAST_EXPIRY), other.sweep(now + TTL + PAST_EXPIRY)])
      expect(a + b).toBe(30)
      expect(await observing.sweep(now + TTL + PAST_EXPIRY)).toBe(0)
      const expected = Array.from({ length: 30 }, (_, i) => 10 + i).reduce((x, y) => x + y)
      expect(observed.length).toBe(30)
      expect(observed.every((o) => o.status === 'expired')).toBe(true)
      expect(observed.reduce((sum, o) => sum + o.cost, 0)).toBe(expected)
      expect(await user('u')).toMatchObject({ spend: expected, reserved: 5_000 })
      const rows = await usageRows()
      expect(rows.length).toBe(30)
      expect(rows.every((r) => r.status === 'expired')).toBe(true)
      await otherStore.close()
    })

    test('a hold open for 30 days is swept like any other: charged in full once, its latency recorded as at most 2^31 - 1 ms', async () => {
      // Every replica down that long, or a hold carried over by `tollgate migrate`: its age does not fit
      // usage.latency_ms on Postgres (integer), and a sweep that wrote it would fail with its whole batch.
      await addUser('u', 10_000_000)
      const now = Date.now()
      // Taken by a process that died since.
      const crashed = new Ledger(store.ledger, TTL)
      await crashed.reserve(holdFor('u', 1_000), now - 30 * 86_400_000)
      await crashed.reserve(holdFor('u', 500), now - 2 * TTL)
      expect(await ledger.sweep(now)).toBe(2)
      expect(await user('u')).toMatchObject({ spend: 1_500, reserved: 0 })
      expect(await usageRows()).toEqual([{ cost: 500, status: 'expired' }, { cost: 1_000, status: 'expired' }])
      expect(await openHolds()).toBe(0)
      const latencies = (await store.db.select().from(t().usage)).map((u) => u.latencyMs).sort((a, b) => a - b)
      expect(latencies).toEqual([2 * TTL, 2 ** 31 - 1])
    })

    test('a settlement is counted (observed) once committed, and only when it charged the hold: not a second settlement, not one another process\'s sweep beat', async () => {
      await addUser('u', null)
      const now = Date.now()
      const observed: string[] = []
      const observing = new Ledger(store.ledger, TTL, (_hold, o) => observed.push(`${o.status} ${o.cost}`))
      const twice = await observing.reserve(holdFor('u', 100), now)
      observing.settle(twice.taken, done(10))
      observing.settle(twice.taken, done(20))
      expect(observed).toEqual([]) // not committed yet
      // Reserved an hour ago: expired, and swept by another process while its request still runs.
      const late = await observing.reserve(holdFor('u', 300), now - 3_600_000)
      const otherStore = await opened.other()
      expect(await new Ledger(otherStore.ledger, TTL).sweep(now)).toBe(1)
      await otherStore.close()
      late.settle(done(30))
      // On Postgres, the settlements queued ride in these reservations' transactions.
      const third = await observing.reserve(holdFor('u', 50), now)
      third.settle(done(5))
      await observing.reserve(holdFor('u', 1), now)
      await observing.flush()
      expect(observed).toEqual(['ok 10', 'ok 5'])
      expect(await usageRows()).toEqual([{ cost: 5, status: 'ok' }, { cost: 10, status: 'ok' }, { cost: 300, status: 'expired' }])
    })

    test('a settlement that finds its hold swept is told apart, with what it reported past the sweep\'s charge: the charge is counted once, by its sweeper', async () => {
      await addUser('u', null)
      const now = Date.now()
      const [charged, pastSwept]: [string[], unknown[]] = [[], []]
      const observing = new Ledger(store.ledger, TTL, (_hold, o) => charged.push(`${o.status} ${o.cost}`), (_hold, unbilled) => pastSwept.push(unbilled))
      const heldTokens = { promptTokens: 100, completionTokens: 50 }
      // Reserved an hour ago: expired, and swept by another process while their requests still run.
      const over = await observing.reserve({ ...holdFor('u', 300), heldTokens }, now - 3_600_000)
      const within = await observing.reserve({ ...holdFor('u', 200), heldTokens }, now - 3_600_000)
      const otherStore = await opened.other()
      expect(await new Ledger(otherStore.ledger, TTL).sweep(now)).toBe(2)
      await otherStore.close()
      // Cap-output off: a usage past the hold in input, output and cost.
      over.settle({ cost: 420, promptTokens: 150, completionTokens: 80, cachedTokens: 0, status: 'ok', latencyMs: 1 })
      // Within what the sweep charged it as: nothing went unbilled.
      within.settle({ cost: 120, promptTokens: 90, completionTokens: 50, cachedTokens: 0, status: 'ok', latencyMs: 1 })
      // On Postgres, the settlements queued ride in this reservation's transaction.
      const next = await observing.reserve(holdFor('u', 50), now)
      next.settle(done(5))
      await observing.flush()
      expect(charged).toEqual(['ok 5'])
      expect(pastSwept).toEqual([{ unbilledInputTokens: 50, unbilledOutputTokens: 30, unbilledCost: 120 }])
      expect(await usageRows()).toEqual([{ cost: 5, status: 'ok' }, { cost: 200, status: 'expired' }, { cost: 300, status: 'expired' }])
    })

    test('a sweep leaves the holds its own process still runs to their settlement, however far the clock has moved', async () => {
      // The wall clock stepped past the TTL (NTP, a VM resumed) while a request runs: it is not lost, it is running.
      await addUser('u', null)
      const now = Date.now()
      const running = await ledger.reserve(holdFor('u', 500), now)
      await new Ledger(store.ledger, TTL).reserve(holdFor('u', 300), now) // its process died
      expect(await ledger.sweep(now + TTL + PAST_EXPIRY)).toBe(1)
      running.settle(done(42))
      expect(await usageRows()).toEqual([{ cost: 42, status: 'ok' }, { cost: 300, status: 'expired' }])
    })

    test('a hold its own process has kept open longer than the TTL by the monotonic clock (a lost task) is swept', async () => {
      await addUser('u', null)
      const shortLived = new Ledger(store.ledger, 50)
      const now = Date.now()
      await shortLived.reserve(holdFor('u', 500), now)
      await Bun.sleep(60)
      expect(await shortLived.sweep(now + 50 + PAST_EXPIRY)).toBe(1)
      expect(await usageRows()).toEqual([{ cost: 500, status: 'expired' }])
    })

    test('a settlement queued when the sweeper runs lands first: charged its real cost', async () => {
      await addUser('u', null)
      const now = Date.now()
      const observed: Outcome[] = []
      const observing = new Ledger(store.ledger, TTL, (_hold, outcome) => observed.push(outcome))
      const h = await observing.reserve(holdFor('u', 500), now)
      h.settle(done(42))
      expect(await observing.sweep(now + TTL + PAST_EXPIRY)).toBe(0)
      expect(await usageRows()).toEqual([{ cost: 42, status: 'ok' }])
      expect(observed.map((o) => o.status)).toEqual(['ok'])
    })

    describe('an expired hold\'s usage row records the tokens the hold was priced for, as any whole-hold charge does', () => {
      const sweptCounts = async () => {
        await ledger.flush()
        return (await store.db.select().from(t().usage))
          .map((u) => ({ cost: u.cost, status: u.status, promptTokens: u.promptTokens, completionTokens: u.completionTokens }))
          .sort((a, b) => a.cost - b.cost)
      }

      test('a hold its process left open (crashed), swept by another process', async () => {
        await addUser('u', null)
        const now = Date.now()
        await new Ledger(store.ledger, TTL).reserve({ ...holdFor('u', 700), heldTokens: { promptTokens: 120, completionTokens: 80 } }, now)
        const otherStore = await opened.other()
        expect(await new Ledger(otherStore.ledger, TTL).sweep(now + TTL + PAST_EXPIRY)).toBe(1)
        await otherStore.close()
        expect(await sweptCounts()).toEqual([{ cost: 700, status: 'expired', promptTokens: 120, completionTokens: 80 }])
      })

      test('a clamped hold: the tokens its clamped amount priced (fitTo), not those of the hold asked for', async () => {
        await addUser('u', 1_000)
        const now = Date.now()
        const clamped = {
          ...holdFor('u', 5_000, null, 100),
          heldTokens: { promptTokens: 100, completionTokens: 4_900 },
          fitTo: (left: number) => ({ amount: left - (left % 10), heldTokens: { promptTokens: 100, completionTokens: left - (left % 10) - 100 } }),
        }
        const h = await new Ledger(store.ledger, TTL).reserve(clamped, now)
        expect(h.amount).toBe(1_000)
        expect(await ledger.sweep(now + TTL + PAST_EXPIRY)).toBe(1)
        expect(await sweptCounts()).toEqual([{ cost: 1_000, status: 'expired', promptTokens: 100, completionTokens: 900 }])
      })

      test('counts past a billion (a free model\'s hold prices any max output) are recorded as a billion, as a settlement\'s are', async () => {
        await addUser('u', null)
        const now = Date.now()
        await new Ledger(store.ledger, TTL).reserve({ ...holdFor('u', 0), heldTokens: { promptTokens: 12, completionTokens: 1e19 } }, now)
        expect(await ledger.sweep(now + TTL + PAST_EXPIRY)).toBe(1)
        expect(await sweptCounts()).toEqual([{ cost: 0, status: 'expired', promptTokens: 12, completionTokens: 1_000_000_000 }])
      })

      test('a hold written by a version that kept no tokens with it (their columns NULL) is swept as before: 0 in, 0 out', async () => {
        await addUser('u', null)
        const now = Date.now()
        await new Ledger(store.ledger, TTL).reserve({ ...holdFor('u', 300), heldTokens: { promptTokens: 5, completionTokens: 6 } }, now)
        await store.db.update(t().reservations).set({ heldPromptTokens: null, heldCompletionTokens: null })
        expect(await ledger.sweep(now + TTL + PAST_EXPIRY)).toBe(1)
        expect(await sweptCounts()).toEqual([{ cost: 300, status: 'expired', promptTokens: 0, completionTokens: 0 }])
      })
    })

    describe('a hold taken before its user\'s period ended, charged after it', () => {
      const D1 = Date.UTC(2026, 10, 23) // a Monday, 00:00 UTC
      const D2 = D1 + 86_400_000
      const late = (userId: string) => addUser(userId, 10_000, 'daily', D1 + 3_600_000)
      /** The user's figures, and what its usage rows dated in its stored period cost. */
      const periodFigures = async (id: string) => {
        const u = await user(id)
        const rows = await store.db.select().from(t().usage).where(eq(t().usage.userId, id))
        return { ...u, usageInPeriod: rows.filter((r) => r.createdAt >= u.periodStart).reduce((n, r) => n + r.cost, 0) }
      }

      test('settled after the period ended, before any hold rolled it: the cost counts in the new period, where its usage row is dated', async () => {
        await late('late')
        const h = await ledger.reserve(holdFor('late', 5_000), D2 - 60_000) // 23:59 on day 1
        h.settle(done(4_000), D2 + 30_000)
        expect(await periodFigures('late')).toEqual({ spend: 4_000, reserved: 0, periodStart: D2, usageInPeriod: 4_000 })
        // The next hold finds the period already rolled, and the late cost in it.
        expect((await ledger.reserve(holdFor('late', 1), D2 + 40_000)).remainingAfter).toBe(10_000 - 4_000 - 1)
        expect(await periodFigures('late')).toEqual({ spend: 4_000, reserved: 1, periodStart: D2, usageInPeriod: 4_000 })
      })

      test('the late settlement first and another request\'s hold after it, or the other way round: the same spend', async () => {
        await late('a')
        await late('b')
        const ha = await ledger.reserve(holdFor('a', 5_000), D2 - 60_000)
        const hb = await ledger.reserve(holdFor('b', 5_000), D2 - 60_000)
        // a: the late settlement lands first (and rolls the period), then a new request's hold.
        ha.settle(done(4_000), D2 + 30_000)
        await ledger.flush()
        const na = await ledger.reserve(holdFor('a', 1), D2 + 40_000)
        // b: a new request's hold rolls the period first, then the late settlement lands.
        const nb = await ledger.reserve(holdFor('b', 1), D2 + 20_000)
        hb.settle(done(4_000), D2 + 30_000)
        const expected = { spend: 4_000, reserved: 1, periodStart: D2, usageInPeriod: 4_000 }
        expect(await periodFigures('a')).toEqual(expected)
        expect(await periodFigures('b')).toEqual(expected)
        expect(na.remainingAfter).toBe(10_000 - 4_000 - 1)
        expect(nb.remainingAfter).toBe(10_000 - 5_000 - 1) // b's late hold was still open
        // Still queued when the next hold comes (on Postgres it rides in that hold's transaction), then a
        // hold from another process: the same again.
        await late('c')
        const hc = await ledger.reserve(holdFor('c', 5_000), D2 - 60_000)
        hc.settle(done(4_000), D2 + 30_000)
        await ledger.reserve(holdFor('c', 1), D2 + 40_000)
        await ledger.flush()
        const otherStore = await opened.other()
        try {
          expect((await new Ledger(otherStore.ledger, TTL).reserve(holdFor('c', 1), D2 + 50_000)).remainingAfter).toBe(10_000 - 4_000 - 2)
        } finally {
          await otherStore.close()
        }
        expect(await periodFigures('c')).toEqual({ ...expected, reserved: 2 })
      })

      test('an expired hold swept after midnight: its charge counts in the period its usage row is dated in', async () => {
        await late('swept')
        await new Ledger(store.ledger, TTL).reserve(holdFor('swept', 5_000), D2 - 30_000) // 23:59:30, expires 00:00:30; its process died
        expect(await ledger.sweep(D2 + TTL)).toBe(1)
        expect(await periodFigures('swept')).toEqual({ spend: 5_000, reserved: 0, periodStart: D2, usageInPeriod: 5_000 })
        expect(await usageRows()).toEqual([{ cost: 5_000, status: 'expired' }])
      })

      test('settlements on both sides of midnight in one batch: each counts in its own period, each hold once', async () => {
        await late('both')
        const before = await ledger.reserve(holdFor('both', 3_000), D2 - 120_000)
        const after = await ledger.reserve(holdFor('both', 3_000), D2 - 60_000)
        before.settle(done(1_000), D2 - 1_000) // 23:59:59: day 1's, which the roll then ends
        after.settle(done(2_000), D2 + 1_000)
        store.ledger.settle(after.taken, done(2_500), D2 + 2_000) // the same hold settled again (by the sweeper, say): nothing
        expect(await periodFigures('both')).toEqual({ spend: 2_000, reserved: 0, periodStart: D2, usageInPeriod: 2_000 })
        expect(await usageRows()).toEqual([{ cost: 1_000, status: 'ok' }, { cost: 2_000, status: 'ok' }])
      })

      test('a user without a period is never rolled by a settlement; a key\'s ceiling (lifetime) neither', async () => {
        await addUser('flat', 10_000, null, D1)
        await addKey('kf', 'flat', 10_000)
        const h = await ledger.reserve(holdFor('flat', 5_000, 'kf'), D2 - 60_000)
        await ledger.reserve(holdFor('flat', 1_000, 'kf'), D1)
        h.settle(done(4_000), D2 + 30_000)
        expect(await user('flat')).toEqual({ spend: 4_000, reserved: 1_000, periodStart: 0 })
        expect(await key('kf')).toEqual({ spend: 4_000, reserved: 1_000 })
      })
    })

    test('property: reserved = Σ open holds and spend = Σ usage, after random reserve / settle / release / crash', async () => {
      const rand = seededRandom(7)
      const ids = ['a', 'b']
      for (const id of ids) await addUser(id, 5_000)
      await addKey('ka', 'a', 2_000)
      let open: Awaited<ReturnType<Ledger['reserve']>>[] = []
      let clock = Date.now()
      /** The process taking the holds; a crash replaces it, and the restarted one sweeps what it left. */
      let owner = ledger
      for (let step = 0; step < 200; step++) {
        const r = rand()
        const id = ids[Math.floor(rand() * ids.length)]!
        if (r < 0.5) {
          try {
            open.push(await owner.reserve(holdFor(id, 1 + Math.floor(rand() * 900), id === 'a' && rand() < 0.5 ? 'ka' : null), clock))
          } catch (e) {
            expect((e as GatewayError).code).toBe('budget_exceeded')
          }
        } else if (r < 0.8 && open.length) {
          const h = open.splice(Math.floor(rand() * open.length), 1)[0]!
          h.settle(done(Math.floor(rand() * (h.amount + 1))))
        } else if (r < 0.9 && open.length) {
          open.splice(Math.floor(rand() * open.length), 1)[0]!.release(1)
        } else {
          open = []
          owner = new Ledger(store.ledger, TTL)
          clock += TTL
          await owner.sweep(clock + PAST_EXPIRY)
        }
      }
      for (const h of open) h.release(1)
      await ledger.flush()
      const rows = await store.db.select().from(t().usage)
      for (const id of ids) {
        const u = await user(id)
        expect(u.reserved).toBe(0)
        expect(u.spend).toBe(rows.filter((x) => x.userId === id).reduce((s, x) => s + x.cost, 0))
        expect(u.spend).toBeLessThanOrEqual(5_000)
      }
      const k = await key('ka')
      expect(k).toEqual({ spend: rows.filter((x) => x.keyId === 'ka').reduce((s, x) => s + x.cost, 0), reserved: 0 })
      expect(k.spend).toBeLessThanOrEqual(2_000)
      expect(await openHolds()).toBe(0)
    })
  })
}
