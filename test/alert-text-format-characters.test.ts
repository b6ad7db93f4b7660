/**
 * README (Budget alerts): a name someone else chose reaches the one-line alert `text` in a code span, made inert for
 * Slack. A bidi override or embedding (U+202A–202E) is not ended by the code span: it runs to the end of the
 * paragraph, so in Slack (or any HTML view of the text) all tollgate writes after the name would be drawn reordered,
 * as the key holder chose; isolates (U+2066–2069) and the other format characters (zero-width, tags) can likewise
 * reshape or hide parts of the operator's line. They are written escaped, as the CLI writes them; `data` keeps the name.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { codeSpan } from '../src/alerts/code-span'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

let mock: MockProvider
let receiver: WebhookReceiver
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  receiver = startWebhookReceiver()
  gw = await startTestGateway({
    mock,
    config: { alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, check_interval_ms: 50, retry_base_ms: 50, unpriced_interval_ms: 200 } },
  })
})
afterAll(async () => {
  await gw.stop()
  receiver.stop()
  await mock.stop()
})

const formatCharacters = (text: string) => [...text].filter((c) => /\p{Cf}/u.test(c)).map((c) => `U+${c.codePointAt(0)!.toString(16)}`)

test('a bidi override in a model name a key holder sent is written escaped in the alert text', async () => {
  const { secret } = await gw.userWithKey({ id: 'bidi-alert' })
  // Read right to left from the override on: "... `mock:x` has been priced, nothing to do" and the rest reversed.
  const model = 'mock:x\u202eod ot gnihton ,decirp neeb sah\u2066'
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(402)
  const [d] = await receiver.waitFor(1)
  expect(d!.payload.kind).toBe('unpriced_model')
  expect(d!.payload.data.model).toBe(model)
  expect(formatCharacters(d!.payload.text)).toEqual([])
  expect(d!.payload.text).toContain('`mock:x\\u202eod ot gnihton ,decirp neeb sah\\u2066`')
})

test('a format character past U+FFFF is written as one \\u{…} escape', () => {
  expect(codeSpan('a\u200bb\u{e0041}c')).toBe('`a\\u200bb\\u{e0041}c`')
})
