import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A chat request with `web_search_options` sent to an OpenAI-compatible router in front of Claude (LiteLLM) runs
 * Anthropic's web search server tool: LiteLLM maps it to `{type: "web_search_20250305", max_uses: 5}` for
 * `search_context_size: "medium"` (1 for low, 10 for high, unbounded without one), and reports the searches
 * Anthropic ran in its chat usage as `usage.server_tool_use.web_search_requests` (litellm.types.utils.Usage,
 * ServerToolUse), or in `prompt_tokens_details.web_search_requests`, on a JSON answer and on the stream's usage chunk
 * alike. The chat usage reader knew only Perplexity's `num_search_queries` and xAI's `num_sources_used`, so the
 * request was billed one search (what OpenAI, which does not count them, bills) whatever the router reported: 5
 * searches at $0.01 billed as 1. The model's name (`m`, an alias) does not say Claude: the searches are billed as
 * counted all the same.
 * plain:m: 1 µ$ an input token, 2 µ$ an output token, $0.01 a search; cap-output off (the default).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'router-searches', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const SEARCHES = 5
/** What the provider bills: 50 input, 20 output, 5 searches at 10,000 µ$. */
const BILLED = 50 + 20 * 2 + SEARCHES * 10_000
const usage = { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70, server_tool_use: { web_search_requests: SEARCHES } }

const post = (stream: boolean) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m', max_tokens: 200, stream,
      web_search_options: { search_context_size: 'medium' },
      messages: [{ role: 'user', content: 'What changed in Bun this week?' }],
    }),
  })

test('a JSON answer is billed the searches its usage reports (server_tool_use.web_search_requests)', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Bun 1.4 shipped.' }, finish_reason: 'stop' }],
      usage,
    }),
  )
  const row = await settledRow(gw, 'router-searches', async () => {
    const res = await post(false)
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('ok')
  expect(row.cost).toBe(BILLED)
})

test('a stream is billed the searches its usage chunk reports', async () => {
  const chunk = (delta: unknown, finish: string | null) => ({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'claude-sonnet-4-5', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() =>
    sseResponse([
      openAIEvent(chunk({ role: 'assistant', content: 'Bun 1.4 shipped.' }, null)),
      openAIEvent(chunk({}, 'stop')),
      openAIEvent({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'claude-sonnet-4-5', choices: [], usage }),
      openAIEvent('[DONE]'),
    ]),
  )
  const row = await settledRow(gw, 'router-searches', async () => {
    const res = await post(true)
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('ok')
  expect(row.cost).toBe(BILLED)
})

test('a JSON answer counting its searches in prompt_tokens_details.web_search_requests is billed them', async () => {
  const { server_tool_use: _, ...counts } = usage
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-3', object: 'chat.completion', created: 1, model: 'claude-sonnet-4-5',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Bun 1.4 shipped.' }, finish_reason: 'stop' }],
      usage: { ...counts, prompt_tokens_details: { cached_tokens: 0, web_search_requests: SEARCHES } },
    }),
  )
  const row = await settledRow(gw, 'router-searches', async () => {
    const res = await post(false)
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(BILLED)
})
