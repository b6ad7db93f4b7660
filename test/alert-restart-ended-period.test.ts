/**
 * README "Budget alerts": a crossing settled in a period's last interval is seen by the first check after the
 * period's end, and a budget changed later does not judge the ended period again. Before, only the process's memory
 * kept that promise: a restarted process (a deploy, a crash, a new replica) had none (AlertWatch.lastCheck starts
 * null), so its first check judged every kind's ended period again under the budget as it was NOW, and the dedupe
 * key, carrying the new budget, made it a new alert: an operator who lowered a user's budget in the morning and
 * deployed got 50/80/100 % alerts about yesterday's $9 "of its daily budget of $9.00". Now an ended period keeps
 * the budget it ended under (a new budget rolls the row first), and is judged against that, by any process.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { beforeEach, expect, test } from 'bun:test'
import type { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import type { Ledger } from '../src/budget/ledger'
import { configSchema } from '../src/config/schema'
import type { Store } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'
import { done, holdFor } from './support/ledger-contract'
import { alertStoreEachTest } from './support/alert-store'

const DAY = 86_400_000
const HOUR = 3_600_000
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY

let store: Store
let ledger: Ledger
let outbox: AlertOutbox
const opened = alertStoreEachTest({ id: 'u-daily', maxBudget: 10_000_000, budgetPeriod: 'daily', periodStart: day0, createdAt: day0, updatedAt: day0 })
beforeEach(() => void ({ store, ledger, outbox } = opened))

const check = async (watch: AlertWatch, at: number) => {
  const written: string[] = []
  await watch.check(async (a) => {
    if (await outbox.raise(a, at)) written.push(a.dedupeKey)
  }, at)
  return written.sort()
}

const spend = async (micros: number, at: number) => {
  const hold = await ledger.reserve(holdFor('u-daily', micros), at)
  hold.settle(done(micros), at)
  await ledger.flush()
}

/** The operator sets the user's budget, as PATCH /v1/users/{id} does. */
const setBudget = (micros: number, at: number) => store.updateUser('u-daily', { maxBudget: micros, updatedAt: at }, undefined, at)

test('a restart after a budget change raises no alert about the ended period (row not rolled yet)', async () => {
  const before = new AlertWatch(store.alerts, settings)
  await spend(9_000_000, day0 + 20 * HOUR)
  // Yesterday: $9 of $10, 50 % and 80 % alerted; the first check after midnight judged yesterday once.
  expect(await check(before, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:u-daily:${day0}:10000000:50`, `budget:user:u-daily:${day0}:10000000:80`])
  expect(await check(before, day1 + 10_000)).toEqual([])
  // 09:00: the operator sets today's budget to $9, and the gateway is redeployed at 09:30.
  await setBudget(9_000_000, day1 + 9 * HOUR)
  expect(await check(before, day1 + 9 * HOUR + 10_000)).toEqual([])
  const restarted = new AlertWatch(store.alerts, settings)
  // The user has spent $0 today; yesterday was alerted already under yesterday's budget. Nothing is crossed.
  expect(await check(restarted, day1 + 9 * HOUR + 30 * 60_000)).toEqual([])
})

test('a restart after a budget change raises no alert about the ended period (row rolled by a request)', async () => {
  const before = new AlertWatch(store.alerts, settings)
  await spend(9_000_000, day0 + 20 * HOUR)
  expect(await check(before, day0 + 20 * HOUR + 10_000)).toHaveLength(2)
  // 08:00 today a request rolls the row (last_period_spend keeps yesterday's $9) and settles $0.01.
  await spend(10_000, day1 + 8 * HOUR)
  expect(await check(before, day1 + 8 * HOUR + 10_000)).toEqual([])
  await setBudget(9_000_000, day1 + 9 * HOUR)
  const restarted = new AlertWatch(store.alerts, settings)
  expect(await check(restarted, day1 + 9 * HOUR + 30 * 60_000)).toEqual([])
})

test('a crossing no check saw before a crash is judged after the restart against the budget the period ended under', async () => {
  const before = new AlertWatch(store.alerts, settings)
  expect(await check(before, day0 + 20 * HOUR)).toEqual([])
  // $9 settled at 23:59:59, and the process died before its next check; the budget is lowered to $9 at 09:00.
  await spend(9_000_000, day1 - 1_000)
  await setBudget(9_000_000, day1 + 9 * HOUR)
  const restarted = new AlertWatch(store.alerts, settings)
  expect(await check(restarted, day1 + 9 * HOUR + 30 * 60_000)).toEqual([`budget:user:u-daily:${day0}:10000000:50`, `budget:user:u-daily:${day0}:10000000:80`])
  // Today's $9 budget is judged from today's spend, from 0 (and named by when it was set: src/alerts/watch.ts).
  await spend(4_500_000, day1 + 10 * HOUR)
  expect(await check(restarted, day1 + 10 * HOUR + 10_000)).toEqual([`budget:user:u-daily:${day1}:9000000@${day1 + 9 * HOUR}:50`])
})

for (const rolledBy of ['the new budget', 'a request'] as const)
  test(`a budget set within the ended period keeps its name when judged after the next day's change (row rolled by ${rolledBy})`, async () => {
    // Noon: the budget is raised to $12; at 20:00 $7 of it is spent, 50 % alerted under the budget set at noon.
    await setBudget(12_000_000, day0 + 12 * HOUR)
    const before = new AlertWatch(store.alerts, settings)
    await spend(7_000_000, day0 + 20 * HOUR)
    const noonBudget = `budget:user:u-daily:${day0}:12000000@${day0 + 12 * HOUR}`
    expect(await check(before, day0 + 20 * HOUR + 10_000)).toEqual([`${noonBudget}:50`])
    // $3 more at 23:59:59 (80 %), and the process dies before its next check; today's budget is set at 09:00.
    await spend(3_000_000, day1 - 1_000)
    if (rolledBy === 'a request') await spend(10_000, day1 + 8 * HOUR)
    await setBudget(9_000_000, day1 + 9 * HOUR)
    // Yesterday is judged under the budget it ended under, named as its checks named it: 80 % only, 50 % not again.
    const restarted = new AlertWatch(store.alerts, settings)
    expect(await check(restarted, day1 + 9 * HOUR + 30 * 60_000)).toEqual([`${noonBudget}:80`])
  })
