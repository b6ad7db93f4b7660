/**
 * SPEC §2 "Secrets are never logged", §8 the records keep "key id (never the key)". The gateway already cuts a
 * virtual key or the master key out of a path a client pasted it into (test/key-in-path.test.ts). A key pasted
 * into the model field instead (an SDK's model and key settings swapped, a script's arguments in the wrong
 * order) is refused 402 as an unpriced model, and its name, secret included, is written to the
 * `unpriced_models` table, listed by GET /v1/pricing/unpriced and the console, for as long as the records are
 * kept: a virtual key of another user, or the master key, readable by anyone with the database or its backups.
 * With alert webhooks configured, the same name is sent out in an `unpriced_model` alert (to Slack, say).
 * A name holding a key is refused 400 before admission records anything (test/model-name-holding-key.test.ts),
 * and the key is cut out of the name, as out of a path, wherever a refusal records, sends or echoes it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startWebhookReceiver } from './support/webhook-receiver'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a key sent as the model name is stored and listed nowhere', async () => {
  const { secret } = await gw.userWithKey({ id: 'fy-model-key' })
  const pasted = await gw.userWithKey({ id: 'fy-model-key-2' })
  for (const model of [`mock:${pasted.secret}`, `mock/${MASTER_KEY}`]) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(400)
    // Echoed to the client that sent it, it would still pass through whatever logs the answers on the way.
    expect(await res.text()).not.toContain(model.slice('mock:'.length))
  }
  await gw.settled()
  await Bun.sleep(100)
  const listed = await gw.admin('GET', '/v1/pricing/unpriced')
  expect(listed.status).toBe(200)
  const text = JSON.stringify(listed.body)
  const stored = gw.storedBytes().toString('latin1')
  expect({
    listedVirtualKey: text.includes(pasted.secret),
    listedMasterKey: text.includes(MASTER_KEY),
    storedVirtualKey: stored.includes(pasted.secret),
    storedMasterKey: stored.includes(MASTER_KEY),
  }).toEqual({ listedVirtualKey: false, listedMasterKey: false, storedVirtualKey: false, storedMasterKey: false })
})

test('a key sent as the model name is not sent to the alert webhooks', async () => {
  const receiver = startWebhookReceiver()
  const alerting = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000 } },
  })
  try {
    const { secret } = await alerting.userWithKey({ id: 'fy-model-key-3' })
    const res = await fetch(`${alerting.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: `mock:${secret}`, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(400)
    // An unpriced model asked for after it: its alert is the first, and the only one.
    const unpriced = await fetch(`${alerting.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:fy-unpriced', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(unpriced.status).toBe(402)
    const [delivery] = await receiver.waitFor(1)
    expect(delivery!.payload.kind).toBe('unpriced_model')
    expect(JSON.stringify(delivery!.payload)).toContain('fy-unpriced')
    expect(JSON.stringify(receiver.deliveries)).not.toContain(secret)
  } finally {
    await alerting.stop()
    receiver.stop()
  }
})
