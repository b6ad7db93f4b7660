/**
 * SPEC §2: secrets are "never logged, never returned by any endpoint". A model name holding a key (an SDK's model
 * and key settings swapped: a virtual key, maybe another user's, or the master key) is refused 400 on every route
 * that takes a model, before any hold or upstream call, and without echoing it: the token counters and
 * GET /v1/models/{id} echoed it whole, and a route serving unpriced models (`require_pricing: false`, or one
 * exempt from it: moderations, speech, transcriptions) served it at $0, the key sent upstream and written into
 * the usage row (GET /v1/usage, the database and its backups).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

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

const post = (url: string, secret: string, body: unknown, extra: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...extra }, body: JSON.stringify(body) })

test('a key in the model name of a token count is not echoed back', async () => {
  const { secret } = await gw.userWithKey({ id: 'gb-echo-count' })
  const pasted = await gw.userWithKey({ id: 'gb-echo-count-2' })
  const model = `nosuch:${pasted.secret}`
  const messages = await post(`${gw.url}/v1/messages/count_tokens`, secret, { model, messages: [{ role: 'user', content: 'hi' }] }, { 'anthropic-version': '2023-06-01' })
  const responses = await post(`${gw.url}/v1/responses/input_tokens`, secret, { model, input: 'hi' })
  const found = { messages: { status: messages.status, text: await messages.text() }, responses: { status: responses.status, text: await responses.text() } }
  expect(found.messages.status).toBe(400)
  expect(found.responses.status).toBe(400)
  expect({ messagesEchoesKey: found.messages.text.includes(pasted.secret), responsesEchoesKey: found.responses.text.includes(pasted.secret) })
    .toEqual({ messagesEchoesKey: false, responsesEchoesKey: false })
})

test('a key in the model id of GET /v1/models/{id} is not echoed back', async () => {
  const { secret } = await gw.userWithKey({ id: 'gb-echo-models' })
  const res = await fetch(`${gw.url}/v1/models/${encodeURIComponent(`mock:${MASTER_KEY}`)}`, { headers: { authorization: `Bearer ${secret}` } })
  expect(res.status).toBe(400)
  expect(await res.text()).not.toContain(MASTER_KEY)
})

test('require_pricing off: a model name carrying the master key is neither recorded nor sent upstream', async () => {
  const free = await startTestGateway({ mock, config: { require_pricing: false } })
  try {
    mock.reset()
    const { secret } = await free.userWithKey({ id: 'gb-echo-free' })
    const res = await post(`${free.url}/v1/chat/completions`, secret, { model: `mock:${MASTER_KEY}`, messages: [{ role: 'user', content: 'hi' }] })
    expect(res.status).toBe(400)
    await res.text()
    await free.settled()
    const usage = await free.admin('GET', '/v1/usage?user_id=gb-echo-free')
    expect({
      sentUpstream: JSON.stringify(mock.calls.map((c) => c.body)).includes(MASTER_KEY),
      listedInUsage: JSON.stringify(usage.body).includes(MASTER_KEY),
      stored: free.storedBytes().toString('latin1').includes(MASTER_KEY),
    }).toEqual({ sentUpstream: false, listedInUsage: false, stored: false })
  } finally {
    await free.stop()
  }
})

/** Moderations, speech and transcriptions serve an unpriced model at $0 even with require-pricing on (the default). */
test('a key in the model of a route exempt from require-pricing (moderations, JSON) is refused, neither recorded nor sent upstream', async () => {
  mock.reset()
  const { secret } = await gw.userWithKey({ id: 'gb-echo-moderations' })
  const pasted = await gw.userWithKey({ id: 'gb-echo-moderations-2' })
  const res = await post(`${gw.url}/v1/moderations`, secret, { model: `mock:${pasted.secret}`, input: 'hello' })
  const status = res.status
  const text = await res.text()
  await gw.settled()
  const usage = await gw.admin('GET', '/v1/usage?user_id=gb-echo-moderations')
  expect({
    status,
    echoed: text.includes(pasted.secret),
    sentUpstream: JSON.stringify(mock.calls.map((c) => c.body)).includes(pasted.secret),
    listedInUsage: JSON.stringify(usage.body).includes(pasted.secret),
    stored: gw.storedBytes().toString('latin1').includes(pasted.secret),
  }).toEqual({ status: 400, echoed: false, sentUpstream: false, listedInUsage: false, stored: false })
})

test('a key in the model of a transcription (a form body) is refused, not sent upstream', async () => {
  mock.reset()
  const { secret } = await gw.userWithKey({ id: 'gb-echo-transcription' })
  const form = new FormData()
  form.set('model', `mock:${MASTER_KEY}`)
  form.set('file', new Blob([new Uint8Array(64)], { type: 'audio/wav' }), 'a.wav')
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  expect(res.status).toBe(400)
  expect(await res.text()).not.toContain(MASTER_KEY)
  expect(mock.calls.length).toBe(0)
})

test("a model name that only holds `tg-` and a few characters of its own is no key: it is served", async () => {
  const priced = await startTestGateway({ mock, config: { pricing: { 'mock:llama-tg-instruct-v1': { input_per_million: 1, output_per_million: 2 } } } })
  try {
    const { secret } = await priced.userWithKey({ id: 'gb-short-tg' })
    const res = await post(`${priced.url}/v1/chat/completions`, secret, { model: 'mock:llama-tg-instruct-v1', messages: [{ role: 'user', content: 'hi' }] })
    expect(res.status).toBe(200)
    await res.text()
  } finally {
    await priced.stop()
  }
})

test('an unpriced model whose name holds `tg-` and a few characters is listed under its own name, as sent', async () => {
  const { secret } = await gw.userWithKey({ id: 'gb-short-tg-unpriced' })
  const res = await post(`${gw.url}/v1/chat/completions`, secret, { model: 'mock:llama-tg-unpriced-v1', messages: [{ role: 'user', content: 'hi' }] })
  expect(res.status).toBe(402)
  expect(((await res.json()) as { error: { message: string } }).error.message).toContain('mock:llama-tg-unpriced-v1')
  await gw.settled()
  expect(JSON.stringify((await gw.admin('GET', '/v1/pricing/unpriced')).body)).toContain('mock:llama-tg-unpriced-v1')
})
