/**
 * On Postgres, one request whose unpriced model name was cut (modelNameShown, then at 200 UTF-16 units)
 * in the middle of a surrogate pair poisoned every unpriced-model alert of the interval. The outbox's dedupe
 * pre-check sends the keys as JSON.stringify'd text (`\ud83d` alone) to `json_array_elements_text(...::json)`,
 * which Postgres refuses ("Unicode low surrogate must follow a high surrogate"): the whole batch, every model's
 * alert raised in that check, fails, check after check. README "No flood" / "Seen": each unpriced model is alerted.
 * A name is now cut whole (cutText) and only past the 256 units a price may name (such a model is refused unrecorded:
 * test/unpriced-long-name-recorded-whole.test.ts), and the outbox writes keys and subjects as Postgres can hold them
 * (storableText), so a lone surrogate the client sent itself sinks nothing either.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver'
import { waitFor } from '../support/wait-for'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let receiver: WebhookReceiver
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  receiver = startWebhookReceiver()
})
afterAll(async () => {
  receiver?.stop()
  await mock?.stop()
  await pg?.destroy()
})

const chat = (gw: TestGateway, secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
  })

const unpricedSubjects = async (gw: TestGateway): Promise<string[]> =>
  (await gw.admin('GET', '/v1/alerts?kind=unpriced_model&limit=100')).body.data.map((a: any) => a.subject)

describe('Postgres: unpriced-model alerts and a model name cut inside a surrogate pair', () => {
  test('another unpriced model asked for in the same interval is still alerted', async () => {
    const gw = await startTestGateway({
      mock,
      config: {
        database_url: await pg.database('alert_unpriced_cut_surrogate'),
        alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 50, retry_base_ms: 50 },
      },
    })
    try {
      const { secret } = await gw.userWithKey({ id: 'mallory', max_budget: 10 })
      // Control: an unpriced model is alerted within a few checks.
      expect((await chat(gw, secret, 'mock:unpriced-first')).status).toBe(402)
      expect(await waitFor(10_000, async () => (await unpricedSubjects(gw)).some((s) => s.includes('unpriced-first')))).toBe(true)

      // A key holder's name of 201 UTF-16 units, its last character an emoji: cut at 200, half of it was kept.
      const cut = `mock:${'a'.repeat(194)}😀`
      expect(cut.length).toBe(201)
      expect((await chat(gw, secret, cut)).status).toBe(402)
      // And one of 256 (the most a price may name) ending in an emoji, recorded whole.
      expect((await chat(gw, secret, `mock:${'a'.repeat(249)}😀`)).status).toBe(402)
      // Someone's real unpriced model, in the same interval.
      expect((await chat(gw, secret, 'mock:unpriced-second')).status).toBe(402)

      // The poisoned batch failed check after check (one every 50 ms): 10 s is some 200 of them.
      expect(await waitFor(10_000, async () => (await unpricedSubjects(gw)).some((s) => s.includes('unpriced-second')))).toBe(true)
    } finally {
      await gw.stop()
    }
  })

  test('a lone surrogate the client wrote in the name sinks no other alert, and its own is written', async () => {
    const gw = await startTestGateway({
      mock,
      config: {
        database_url: await pg.database('alert_unpriced_lone_surrogate'),
        alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 50, retry_base_ms: 50 },
      },
    })
    try {
      const { secret } = await gw.userWithKey({ id: 'mallory', max_budget: 10 })
      // An alert written first: over an empty table, Postgres never read the keys it was sent.
      expect((await chat(gw, secret, 'mock:unpriced-first')).status).toBe(402)
      let subjects: string[] = []
      for (let i = 0; i < 40 && (subjects = await unpricedSubjects(gw)).length < 1; i++) await Bun.sleep(50)
      expect(subjects).toEqual(['mock:unpriced-first'])

      // JSON.stringify writes the lone half as `\ud83d`, which the gateway's JSON parser takes as it is.
      expect((await chat(gw, secret, 'mock:lone-\ud83d-half')).status).toBe(402)
      expect((await chat(gw, secret, 'mock:unpriced-third')).status).toBe(402)
      for (let i = 0; i < 40 && (subjects = await unpricedSubjects(gw)).length < 3; i++) await Bun.sleep(50)
      expect(subjects.sort()).toEqual(['mock:lone-\ufffd-half', 'mock:unpriced-first', 'mock:unpriced-third'])
    } finally {
      await gw.stop()
    }
  })
})
