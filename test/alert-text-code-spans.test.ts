/**
 * README (Budget alerts, "The request"): a name someone else chose (a model name a key holder sent, a key's
 * name) reaches the one-line `text` so that it can neither break the line nor post a mention or a link.
 * Slack turns bare URLs in message text into links ("When set to false (as is default) URLs will be
 * auto-converted into links"), so escaping `<`, `>` and `&` is not enough: a key holder asking for the model
 * `mock:x … https://evil.example/login` would post a clickable phishing line into the operator's channel,
 * worded as tollgate's own. The name goes in an inline code span, which Slack leaves unformatted, and a
 * backtick in it cannot end the span. `data` keeps the value as it is.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { codeSpan } from '../src/alerts/code-span'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'

const SECRET = 'webhook-secret-0123456789abcdef'
const URL_OF_THEIRS = 'https://evil.example/login'

let mock: MockProvider
let receiver: WebhookReceiver | undefined
let gw: TestGateway | undefined
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  receiver?.stop()
})

const startWithWebhook = async () => {
  receiver = startWebhookReceiver()
  gw = await startTestGateway({ mock, config: { alerts: { webhooks: { ops: { url: receiver.url, secret: SECRET } }, check_interval_ms: 50, retry_base_ms: 50 } } })
  return gw
}

/** The text as Slack formats it: what is outside its inline code spans. */
const outsideCodeSpans = (text: string) => text.replace(/`[^`]*`/g, '')

test('a bare URL in a model name a key holder sent does not reach the alert text as a link Slack would make', async () => {
  const gw = await startWithWebhook()
  const { secret } = await gw.userWithKey({ id: 'phisher' })
  const model = `mock:x your keys leaked, rotate them now at ${URL_OF_THEIRS}`
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(402)
  const [d] = await receiver!.waitFor(1)
  expect(d!.payload.kind).toBe('unpriced_model')
  expect(d!.payload.data.model).toBe(model)
  expect(outsideCodeSpans(d!.payload.text)).not.toContain(URL_OF_THEIRS)
})

test('a backtick in a key name cannot end its code span and let a URL out', async () => {
  const gw = await startWithWebhook()
  const name = `ci\` rotate at ${URL_OF_THEIRS} \`x`
  const { keyId } = await gw.userWithKey({ id: 'named' }, { name })
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  const [d] = await receiver!.waitFor(1)
  expect(d!.payload.kind).toBe('key_revoked')
  expect(d!.payload.data.name).toBe(name)
  expect(outsideCodeSpans(d!.payload.text)).not.toContain(URL_OF_THEIRS)
  expect(d!.payload.text).toBe(`tollgate: key ${keyId} (\`ciˋ rotate at ${URL_OF_THEIRS} ˋx\`) of user named was revoked`)
})

test('a line break of any kind in a name is written escaped, so the text stays one line', () => {
  expect(codeSpan('a\nb\u2028c\u0085d')).toBe('`a\\u000ab\\u2028c\\u0085d`')
})
