/**
 * Processes on one database (workers, or replicas mid rolling deploy) whose configs name different webhooks:
 * the new one added `pager`. An alert it raises has a delivery row for `pager`. A process that does not know
 * `pager` must leave that row pending for one that does, not claim it and fail it for good: README, "Never
 * lost … at least once". Runs on both stores (test/engines/stores.engine.ts).
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
const receivers: WebhookReceiver[] = []
const deliveries: AlertDelivery[] = []
afterEach(async () => {
  for (const d of deliveries.splice(0)) await d.stop(0)
  for (const r of receivers.splice(0)) r.stop()
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

const settingsFor = (webhooks: Record<string, { url: string; secret: string }>) =>
  configSchema.parse({ master_key: MASTER_KEY, alerts: { webhooks, retry_base_ms: 50, delivery_timeout_ms: 1_000 } }).alerts

/** A process's outbox and delivery loop, as src/alerts/alerts.ts builds them from its config. */
const processWith = (webhooks: Record<string, { url: string; secret: string }>) => {
  const settings = settingsFor(webhooks)
  const outbox = new AlertOutbox(store!.alerts, Object.keys(settings.webhooks))
  const delivery = new AlertDelivery(outbox, settings, new FreeCallSlots(FREE_CALLS), () => {})
  deliveries.push(delivery)
  return { outbox, delivery }
}

const deliveryRows = async () =>
  ((await (store!.db as any).select().from(store!.tables.alertDeliveries)) as any[]).map((r) => ({ webhook: r.webhook, status: r.status, attempts: r.attempts, lastError: r.lastError }))

test('a webhook one process does not know is left pending by it and delivered by the process that does', async () => {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  const ops = startWebhookReceiver()
  const pager = startWebhookReceiver()
  receivers.push(ops, pager)
  const newProcess = processWith({ ops: { url: ops.url, secret: SECRET }, pager: { url: pager.url, secret: SECRET } })
  const oldProcess = processWith({ ops: { url: ops.url, secret: SECRET } })

  // The new process raises an alert: one delivery row per webhook it knows (ops, pager).
  const id = await newProcess.outbox.raise({ dedupeKey: 'user_blocked:u1:1', kind: 'user_blocked', subject: 'u1', text: 'tollgate: user u1 was blocked', data: { user_id: 'u1' } })
  expect(id).not.toBeNull()

  // The old process's pass comes first: it delivers to ops and leaves pager untouched.
  await oldProcess.delivery.deliverDue()
  expect(ops.deliveries.map((d) => d.id)).toEqual([id!])
  expect((await deliveryRows()).find((r) => r.webhook === 'pager')).toEqual({ webhook: 'pager', status: 'pending', attempts: 0, lastError: null })

  // The new process's pass: pager is the webhook it was configured to add.
  await newProcess.delivery.deliverDue()
  expect(pager.deliveries.map((d) => d.id)).toEqual([id!])
  const rows = await deliveryRows()
  expect(rows.sort((a, b) => a.webhook.localeCompare(b.webhook))).toEqual([
    { webhook: 'ops', status: 'delivered', attempts: 1, lastError: null },
    { webhook: 'pager', status: 'delivered', attempts: 1, lastError: null },
  ])
  expect(ops.deliveries).toHaveLength(1)
})

test('deliveries to webhooks a process does not know do not take its claims: its own due ones are claimed past them', async () => {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
  const ops = startWebhookReceiver()
  receivers.push(ops)
  const gone = processWith({ removed: { url: 'http://127.0.0.1:9/', secret: SECRET } })
  const current = processWith({ ops: { url: ops.url, secret: SECRET } })
  // Older than anything due for ops, and more than one pass claims: they come first in due order.
  for (let i = 0; i < 25; i++) await gone.outbox.raise({ dedupeKey: `old:${i}`, kind: 'user_blocked', subject: null, text: 'old', data: {} }, Date.now() - 60_000 + i)
  const id = await current.outbox.raise({ dedupeKey: 'new', kind: 'user_blocked', subject: null, text: 'new', data: {} })
  await current.delivery.deliverDue()
  expect(ops.deliveries.map((d) => d.id)).toEqual([id!])
  const rows = await deliveryRows()
  expect(rows.filter((r) => r.webhook === 'removed').every((r) => r.status === 'pending' && r.attempts === 0)).toBe(true)
  expect(await current.outbox.count('pending')).toBe(25)
})
