import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Moonshot streams its usage inside the last chunk's choice (`choices[0].usage`), and the gateway bills it (2,650 µ$
 * for the stream below). An Anthropic client (Claude Code) or a Responses client (Codex, the Agents SDK) of that chat
 * server must be told the same counts, cache reads included: the translators read only a chunk's own `usage`, and
 * showed 0 input, 0 output, 0 cache reads. Both now read the usage the meter does (`chunkUsage`).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  // A chat server without the Responses API: `/v1/responses` is translated to its chat completions.
  const providers = { plain: { ...scriptedProviders(upstream).plain, responses: 'chat' } }
  gw = await startTestGateway({ config: { providers, pricing: { 'plain:kimi-k2': { input_per_million: 0.6, cached_input_per_million: 0.15, output_per_million: 2.5 } } } })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'kimi-k2' }
const moonshot = () =>
  sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello there' }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop', usage: { prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, cached_tokens: 8_000 } }] }),
    openAIEvent('[DONE]'),
  ])

const lastData = (text: string, type: string) =>
  text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).filter((d) => d.type === type).at(-1)

test('an Anthropic client of a Moonshot server is told the usage it is billed', async () => {
  upstream.answer(moonshot)
  const { secret } = await gw.userWithKey({ id: 'moonshot-usage-anthropic-client', max_budget: 10 })
  let text = ''
  const row = await settledRow(gw, 'moonshot-usage-anthropic-client', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:kimi-k2', max_tokens: 200, stream: true, messages: [{ role: 'user', content: 'context '.repeat(5_000) }] }),
    })
    expect(res.status).toBe(200)
    text = await res.text()
  })
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 2_650 })
  // Billed 2,000 plain input + 8,000 cache reads + 100 output; the client must see the same counts.
  expect(lastData(text, 'message_delta').usage).toEqual({ input_tokens: 2_000, output_tokens: 100, cache_read_input_tokens: 8_000, cache_creation_input_tokens: 0 })
})

test('a Responses client of a Moonshot server is told the usage it is billed', async () => {
  upstream.answer(moonshot)
  const { secret } = await gw.userWithKey({ id: 'moonshot-usage-responses-client', max_budget: 10 })
  let text = ''
  const row = await settledRow(gw, 'moonshot-usage-responses-client', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:kimi-k2', max_output_tokens: 200, stream: true, store: false, input: 'context '.repeat(5_000) }),
    })
    expect(res.status).toBe(200)
    text = await res.text()
  })
  expect({ status: row.status, cost: row.cost }).toEqual({ status: 'ok', cost: 2_650 })
  const usage = lastData(text, 'response.completed').response.usage
  expect({ input: usage.input_tokens, cached: usage.input_tokens_details.cached_tokens, output: usage.output_tokens }).toEqual({ input: 10_000, cached: 8_000, output: 100 })
})
