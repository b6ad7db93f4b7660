import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * A 402 caused only by holds in flight says `x-should-retry: true` (test/budget-held-in-flight-retried.test.ts). Not
 * when the key's own ceiling can never cover the hold: the user's budget held by another key's request used to
 * answer first, with the retryable 402, and the openai SDK sent a request that comes back the same three times.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let wide: string
let tiny: string
let tinyId: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1 } } } })
  // The user: $0.002 (2000 µ$ at 1 µ$ a token). Key "wide" has no ceiling; key "tiny" one of 10 µ$, below any hold it asks.
  ;({ secret: wide } = await gw.userWithKey({ id: 'held-key-spent', max_budget: 0.002 }, { name: 'wide' }))
  const created = await gw.admin('POST', '/v1/keys', { user_id: 'held-key-spent', name: 'tiny', max_budget: 0.00001 })
  ;({ key: tiny, id: tinyId } = created.body)
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const chat = (secret: string, content: string, maxTokens: number) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content }], max_tokens: maxTokens }),
  })

test("a request its key's ceiling can never cover is not told to retry while another key's request holds the user's budget", async () => {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  upstream.answer(async () => {
    await gate
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
    })
  })
  // The wide key's request holds most of the user's budget while the provider thinks.
  const inFlight = chat(wide, 'hi', 1500)
  while (upstream.calls.length === 0) await Bun.sleep(10)

  const prompt = 'x'.repeat(600)
  const refused = await chat(tiny, prompt, 16)
  const body = (await refused.json()) as any
  // The openai SDK as a client runs it (maxRetries 2): how many times it sends the request.
  await gw.settled()
  const before = gw.query('SELECT count(*) AS n FROM api_request_log WHERE key_id = ?', tinyId)[0].n
  const sdkStatus = await new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: tiny }).chat.completions
    .create({ model: 'plain:m', messages: [{ role: 'user', content: prompt }], max_tokens: 16 })
    .then(() => 200, (e) => e.status)
  release()
  expect((await inFlight).status).toBe(200)
  await gw.settled()
  const sent = gw.query('SELECT count(*) AS n FROM api_request_log WHERE key_id = ?', tinyId)[0].n - before

  expect({
    status: refused.status,
    message: body.error?.message,
    shouldRetry: refused.headers.get('x-should-retry'),
    retryAfter: refused.headers.get('retry-after'),
    sdkStatus,
    sdkRequestsSent: sent,
  }).toEqual({ status: 402, message: expect.stringContaining('for this key:'), shouldRetry: 'false', retryAfter: null, sdkStatus: 402, sdkRequestsSent: 1 })
}, 30_000)
