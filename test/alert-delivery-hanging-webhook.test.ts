/**
 * README "Budget alerts": a webhook that never answers (a black hole, a stuck receiver) must not hold up the
 * others. Before, delivery ran one pass at a time: a pass claimed the 20 deliveries due first, of every webhook
 * together, and awaited them all, so the stuck webhook made every pass last `delivery_timeout_ms` (10 s by
 * default) and took about half its claims: every other webhook got ~10 alerts per delivery timeout, and a burst of
 * 60 (key expiries, thresholds after a price change, a sweep) reached the healthy one only after six timeouts (a
 * minute at the defaults; after 2 s here, 20 of 60). Now each webhook is claimed for apart, with an in-flight cap
 * of its own, and a round does not wait for the attempts it started.
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
const TIMEOUT_MS = 1_000
let store: Store | undefined
let alerts: Alerts | undefined
let dir = ''
const receivers: WebhookReceiver[] = []
afterEach(async () => {
  await alerts?.stop(0)
  for (const r of receivers.splice(0)) r.stop()
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a webhook that never answers does not hold up delivery of a burst to a healthy one', async () => {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  const stuck = startWebhookReceiver()
  const slack = startWebhookReceiver()
  receivers.push(stuck, slack)
  stuck.script(...Array.from({ length: 500 }, () => 'hang' as const))
  const settings = configSchema.parse({
    master_key: MASTER_KEY,
    alerts: {
      webhooks: { pager: { url: stuck.url, secret: SECRET }, slack: { url: slack.url, secret: SECRET } },
      check_interval_ms: 60_000,
      retry_base_ms: 50,
      delivery_timeout_ms: TIMEOUT_MS,
    },
  }).alerts
  alerts = new Alerts(store.alerts, settings, new FreeCallSlots(FREE_CALLS), () => {})
  const now = Date.now()
  for (let i = 0; i < 60; i++)
    await alerts.outbox.raise(
      { dedupeKey: `key_expiring:k${i}:1`, kind: 'key_expiring', subject: `k${i}`, text: `tollgate: key k${i} expires`, data: { key_id: `k${i}` } },
      now,
    )
  const started = Date.now()
  alerts.start()
  // Two delivery timeouts is ample for 60 POSTs to a receiver that answers at once.
  const deadline = started + 2 * TIMEOUT_MS
  while (slack.deliveries.length < 60 && Date.now() < deadline) await Bun.sleep(20)
  expect(slack.deliveries.length).toBe(60)
}, 20_000)
