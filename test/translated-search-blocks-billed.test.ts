/**
 * A translated answer from an Anthropic provider is billed the web searches its content shows, as native
 * `/v1/messages` bills them (`anthropicMessageCounts`, test/messages-search-blocks-uncounted.test.ts): an
 * Anthropic-compatible endpoint (a router's) may drop `server_tool_use` from the usage while its content shows the
 * searches (`server_tool_use` + `web_search_tool_result` blocks). Before, the translated JSON paths (`/v1/responses`
 * and `/v1/chat/completions` served by Anthropic) read the usage alone: a Responses `web_search` whose two searches
 * the provider billed settled 52 µ$, not 20,052. Streams were already billed so (the Anthropic stream meter's
 * `withUsesShown`). Rates: $1/M input, $2/M output (20 in + 16 out = 52 µ$); a search $0.01 (10,000 µ$).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

const PRICE = { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } }
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'ant:m': PRICE, 'ant:m:online': PRICE },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    server_tool_default_max_uses: 2,
  },
  (started) => ({ upstream, gw } = started),
)

const searches = (n: number) =>
  Array.from({ length: n }, (_, i) => [
    { type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_search', input: { query: 'q' } },
    { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [] },
  ]).flat()

test('Responses → Anthropic, JSON: two web searches shown as blocks, usage without server_tool_use: both billed', async () => {
  const id = 'translated-resp-search-blocks'
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [...searches(2), { type: 'text', text: 'x' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16 },
    }),
  )
  const row = await settledRow(gw, id, async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_output_tokens: 16, max_tool_calls: 2, input: 'hi', tools: [{ type: 'web_search' }] }),
    })
    expect(res.status).toBe(200)
    const response = (await res.json()) as { output: Array<{ type: string }> }
    expect(response.output.filter((item) => item.type === 'web_search_call').length).toBe(2)
  })
  expect(upstream.calls.at(-1)!.body.tools).toEqual([{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }])
  expect(row.cost).toBe(52 + 2 * 10_000)
})

// Chat offers Anthropic no web search of its own (the translation refuses it): the only searches are the `:online`
// plugin's 5 results, held and billed whole; the searches the content shows are the plugin's (run by Anthropic's
// native search), billed once within them, as /v1/messages bills the same request without a web_search tool.
test('chat → Anthropic, an :online model (OpenRouter web plugin, 5 results), JSON: the searches shown are billed within the 5 results held, as /v1/messages bills them', async () => {
  const id = 'translated-chat-online-search-blocks'
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_2', type: 'message', role: 'assistant', model: body.model, content: [...searches(2), { type: 'text', text: 'x' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16 },
    }),
  )
  const row = await settledRow(gw, id, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m:online', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(52 + 5 * 10_000)
  const { secret: nativeSecret } = await gw.userWithKey({ id: `${id}-native`, max_budget: 10 })
  const native = await settledRow(gw, `${id}-native`, async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': nativeSecret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m:online', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(native.cost).toBe(row.cost)
})

test('Responses → Anthropic, streamed: two web searches shown as blocks, usage without server_tool_use: both billed', async () => {
  const id = 'translated-resp-search-blocks-stream'
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(({ body }) =>
    sseResponse([
      anthropicEvent({
        type: 'message_start',
        message: { id: 'msg_3', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } },
      }),
      ...searches(2).flatMap((block, index) => [
        anthropicEvent({ type: 'content_block_start', index, content_block: block }),
        anthropicEvent({ type: 'content_block_stop', index }),
      ]),
      anthropicEvent({ type: 'content_block_start', index: 4, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 4, delta: { type: 'text_delta', text: 'x' } }),
      anthropicEvent({ type: 'content_block_stop', index: 4 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 16 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const row = await settledRow(gw, id, async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', stream: true, max_output_tokens: 16, max_tool_calls: 2, input: 'hi', tools: [{ type: 'web_search' }] }),
    })
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text).toContain('response.completed')
    expect(text.match(/"type":"web_search_call"/g)?.length).toBeGreaterThanOrEqual(2)
  })
  expect(row.cost).toBe(52 + 2 * 10_000)
})
