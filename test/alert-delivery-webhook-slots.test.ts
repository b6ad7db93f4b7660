/**
 * README "Capacity under load": the free calls (count_tokens, stored responses, webhooks) share 32 slots; clients take
 * at most all but 4, which are kept for webhooks, and webhooks take only those 4. Before, a delivery pass claimed up
 * to 20 deliveries, each taking any free slot, and held it for the whole `delivery_timeout_ms` when the receiver
 * never answered: a stuck webhook with a backlog kept 20 slots taken, pass after pass, the clients' 28 shrank to 12,
 * and the 13th concurrent count_tokens (Claude Code sends them all the time) was refused 503 upstream_busy — a broken
 * alert receiver degrading the API for every key holder (16 of 28 refused).
 */
import { afterEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Alerts } from '../src/alerts/alerts'
import { configSchema } from '../src/config/schema'
import { FreeCallSlots } from '../src/providers/free-call-slots'
import { FREE_CALLS } from '../src/providers/upstream-slots'
import type { Store } from '../src/store/store'
import { MASTER_KEY, tempDir } from './support/gateway'
import { openTestStore } from './support/test-store'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

const SECRET = 'webhook-secret-0123456789abcdef'
let store: Store | undefined
let alerts: Alerts | undefined
let receiver: WebhookReceiver | undefined
let dir = ''
afterEach(async () => {
  await alerts?.stop(0)
  receiver?.stop()
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

test("a webhook that never answers does not take the clients' share of the free-call slots", async () => {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  receiver = startWebhookReceiver()
  receiver.script(...Array.from({ length: 200 }, () => 'hang' as const))
  const settings = configSchema.parse({
    master_key: MASTER_KEY,
    alerts: { webhooks: { pager: { url: receiver.url, secret: SECRET } }, check_interval_ms: 60_000, retry_base_ms: 50, delivery_timeout_ms: 5_000 },
  }).alerts
  const slots = new FreeCallSlots(FREE_CALLS)
  alerts = new Alerts(store.alerts, settings, slots, () => {})
  for (let i = 0; i < 30; i++)
    await alerts.outbox.raise({ dedupeKey: `key_expiring:k${i}:1`, kind: 'key_expiring', subject: `k${i}`, text: `tollgate: key k${i} expires`, data: { key_id: `k${i}` } })
  alerts.start()
  // The webhook's POSTs are out, each holding a slot until the receiver's timeout; more rounds (every 50 ms) find
  // no room for more.
  await receiver.waitFor(1)
  await Bun.sleep(300)
  const webhookSlots = slots.inFlight
  // Seven key holders' count_tokens at once, four each: within the clients' share (28) and each key's 8.
  const refused: string[] = []
  for (let i = 0; i < slots.forClients; i++) {
    try {
      slots.takeFor(`key-${i % 7}`)
    } catch (error) {
      refused.push((error as { code?: string }).code ?? String(error))
    }
  }
  expect({ clientsShare: slots.forClients, webhookSlots, posted: receiver.deliveries.length, refused: refused.length }).toEqual({
    clientsShare: 28,
    webhookSlots: 4,
    posted: 4,
    refused: 0,
  })
}, 20_000)
