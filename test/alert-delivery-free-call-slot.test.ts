/**
 * A webhook's POST is a fetch like a provider call: it takes one of the free-call slots (`FREE_CALLS`) that keep
 * the gateway's fetches under Bun's cap. With none free, a due delivery waits for a later pass, unclaimed (or
 * given back, when a free call took the slot while the claim was made), and that wait is no attempt (it does not
 * bring `max_attempts` nearer); the slot goes back when the POST ends, answered or timed out. Clients never take the few
 * slots kept for webhooks. Runs on both stores (test/engines/stores.engine.ts): a delivery is claimed in the store.
 */
import { afterEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AlertDelivery } from '../src/alerts/delivery'
import { AlertOutbox } from '../src/alerts/outbox'
import { configSchema } from '../src/config/schema'
import { FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import type { Store } from '../src/store/store'
import { MASTER_KEY, tempDir } from './support/gateway'
import { openTestStore } from './support/test-store'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

const SECRET = 'webhook-secret-0123456789abcdef'
let store: Store | undefined
let dir = ''
let receiver: WebhookReceiver | undefined
let delivery: AlertDelivery | undefined
afterEach(async () => {
  await delivery?.stop(0)
  receiver?.stop()
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * A process's outbox and delivery loop with `limit` free-call slots (one unless given), as src/alerts/alerts.ts builds
 * them; a failed attempt is tried again `retryBaseMs` later (and more: retryDelay).
 */
async function deliveryProcess(limit = 1, retryBaseMs = 50) {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  receiver = startWebhookReceiver()
  const settings = configSchema.parse({
    master_key: MASTER_KEY,
    alerts: { webhooks: { ops: { url: receiver.url, secret: SECRET } }, retry_base_ms: retryBaseMs, delivery_timeout_ms: 500, max_attempts: 2 },
  }).alerts
  const outbox = new AlertOutbox(store.alerts, ['ops'])
  const slots = new FreeCallSlots(limit)
  delivery = new AlertDelivery(outbox, settings, slots, () => {})
  return { outbox, slots, delivery, receiver }
}

const rows = async () =>
  ((await (store!.db as any).select().from(store!.tables.alertDeliveries)) as any[]).map((r) => ({ status: r.status, attempts: r.attempts }))

test('with every free-call slot taken a due delivery waits, no attempt counted, and goes once one is free', async () => {
  const { outbox, slots, delivery, receiver } = await deliveryProcess()
  const taken = slots.takeFor('k1')
  const id = await outbox.raise({ dedupeKey: 'user_blocked:u1:1', kind: 'user_blocked', subject: 'u1', text: 'tollgate: user u1 was blocked', data: { user_id: 'u1' } })
  for (let pass = 0; pass < 3; pass++) await delivery.deliverDue()
  expect({ sent: receiver.deliveries.length, rows: await rows() }).toEqual({ sent: 0, rows: [{ status: 'pending', attempts: 0 }] })

  taken()
  await delivery.deliverDue()
  expect({ sent: receiver.deliveries.map((d) => d.id), rows: await rows(), inFlight: slots.inFlight }).toEqual({
    sent: [id!],
    rows: [{ status: 'delivered', attempts: 1 }],
    inFlight: 0,
  })
})

test('a delivery claimed while a free call took the last slot is given back unclaimed, due again, no attempt counted', async () => {
  const { outbox, slots, delivery, receiver } = await deliveryProcess()
  const id = await outbox.raise({ dedupeKey: 'user_blocked:u2:1', kind: 'user_blocked', subject: 'u2', text: 'tollgate: user u2 was blocked', data: { user_id: 'u2' } })
  // The pass counts one free slot and claims one delivery; before the claim is in, a free call takes that slot.
  const pass = delivery.deliverDue()
  const taken = slots.takeFor('k1')
  await pass
  expect({ sent: receiver.deliveries.length, rows: await rows() }).toEqual({ sent: 0, rows: [{ status: 'pending', attempts: 0 }] })

  taken()
  await delivery.deliverDue()
  expect({ sent: receiver.deliveries.map((d) => d.id), rows: await rows() }).toEqual({ sent: [id!], rows: [{ status: 'delivered', attempts: 1 }] })
})

test("a POST holds its slot until it ends, and a webhook that never answers gives it back at the attempt's timeout", async () => {
  // Its next try a minute on: the round the attempt's end starts must not find it due before its row is read (with
  // 50 ms, CI run 30 on Postgres read the second attempt's claim).
  const { outbox, slots, delivery, receiver } = await deliveryProcess(1, 60_000)
  receiver.script('hang')
  await outbox.raise({ dedupeKey: 'key_revoked:k1', kind: 'key_revoked', subject: 'k1', text: 'tollgate: key k1 was revoked', data: { key_id: 'k1' } })
  const pass = delivery.deliverDue()
  await receiver.waitFor(1)
  expect(slots.inFlight).toBe(1)
  await pass
  expect({ inFlight: slots.inFlight, rows: await rows() }).toEqual({ inFlight: 0, rows: [{ status: 'pending', attempts: 1 }] })
})

test("clients holding their whole share of the free-call slots leave webhooks theirs: a due delivery still goes", async () => {
  const { outbox, slots, delivery, receiver } = await deliveryProcess(FREE_CALLS)
  const clients = Array.from({ length: slots.forClients }, (_, i) => slots.takeFor(`key-${i % 4}`))
  expect(() => slots.takeFor('one-more')).toThrow()
  const id = await outbox.raise({ dedupeKey: 'user_blocked:u3:1', kind: 'user_blocked', subject: 'u3', text: 'tollgate: user u3 was blocked', data: { user_id: 'u3' } })
  await delivery.deliverDue()
  expect({ sent: receiver.deliveries.map((d) => d.id), rows: await rows(), inFlight: slots.inFlight }).toEqual({
    sent: [id!],
    rows: [{ status: 'delivered', attempts: 1 }],
    inFlight: clients.length,
  })
})
