/**
 * An attempt's result is written for its claim. A process can outlive its lease (a pause, a write waiting for
 * the database): another claims the delivery and makes its own attempt, and the first one's answer then
 * arrives late. A late failure must not overwrite the other claim's result (a `delivered` shown as `failed`,
 * a live lease cut short so that a third process sends it at once); a late success is still a success: the
 * receiver has the alert. Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AlertOutbox } from '../src/alerts/outbox'
import type { Store } from '../src/store/store'
import { tempDir } from './support/gateway'
import { openTestStore } from './support/test-store'

let store: Store | undefined
let dir = ''
afterEach(async () => {
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

const T0 = Date.UTC(2026, 11, 3, 12)
const LEASE_MS = 1_000

/** One alert to `ops`, raised at T0, and an outbox for it. */
async function oneDelivery() {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  const outbox = new AlertOutbox(store.alerts, ['ops'])
  await outbox.raise({ dedupeKey: 'user_blocked:u1:1', kind: 'user_blocked', subject: 'u1', text: 'tollgate: user u1 was blocked', data: { user_id: 'u1' } }, T0)
  return outbox
}

const row = async () => {
  const [r] = (await (store!.db as any).select().from(store!.tables.alertDeliveries)) as any[]
  return { status: r.status, attempts: r.attempts, nextAttemptAt: r.nextAttemptAt, lastError: r.lastError }
}

/** A claims at T0; its lease runs out unanswered and B claims the delivery. */
async function claimedTwice(outbox: AlertOutbox) {
  const [a] = await outbox.claimDue('ops', T0, LEASE_MS)
  const [b] = await outbox.claimDue('ops', T0 + LEASE_MS, LEASE_MS)
  expect([a?.attempt, b?.attempt]).toEqual([1, 2])
  return { a: a!, b: b! }
}

test("a late last failure does not turn another claim's delivery into a failure", async () => {
  const outbox = await oneDelivery()
  const { a, b } = await claimedTwice(outbox)
  await outbox.delivered(b, T0 + LEASE_MS + 10)
  expect(await outbox.attemptFailed(a, 'timed out', null)).toBe(false)
  expect(await row()).toMatchObject({ status: 'delivered', lastError: null })
})

test("a late failure's retry does not cut the lease of the claim making an attempt now", async () => {
  const outbox = await oneDelivery()
  const { a } = await claimedTwice(outbox)
  expect(await outbox.attemptFailed(a, 'HTTP 500', T0 + LEASE_MS + 10)).toBe(false)
  expect(await row()).toEqual({ status: 'pending', attempts: 2, nextAttemptAt: T0 + 2 * LEASE_MS, lastError: null })
  // B's attempt is still live: nobody else claims the delivery before its lease runs out.
  expect(await outbox.claimDue('ops', T0 + LEASE_MS + 20, LEASE_MS)).toEqual([])
})

test('a late success counts, and the failure of the claim after it does not undo it', async () => {
  const outbox = await oneDelivery()
  const { a, b } = await claimedTwice(outbox)
  await outbox.delivered(a, T0 + LEASE_MS + 10)
  expect(await outbox.attemptFailed(b, 'HTTP 500', null)).toBe(false)
  expect(await row()).toMatchObject({ status: 'delivered', lastError: null })
})

test('the claim holding the delivery writes its result', async () => {
  const outbox = await oneDelivery()
  const { b } = await claimedTwice(outbox)
  expect(await outbox.attemptFailed(b, 'HTTP 500', T0 + 5 * LEASE_MS)).toBe(true)
  expect(await row()).toEqual({ status: 'pending', attempts: 2, nextAttemptAt: T0 + 5 * LEASE_MS, lastError: 'HTTP 500' })
  const [c] = await outbox.claimDue('ops', T0 + 5 * LEASE_MS, LEASE_MS)
  expect(await outbox.attemptFailed(c!, 'HTTP 500', null)).toBe(true)
  expect(await row()).toMatchObject({ status: 'failed', attempts: 3, lastError: 'HTTP 500' })
})
