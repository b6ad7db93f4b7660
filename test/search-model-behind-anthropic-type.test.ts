import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A search model (OpenAI's `…-search-preview`) served by an Anthropic-type provider (OpenRouter's Anthropic endpoint
 * serves OpenAI's models) searches on every request, as it does on chat, where it is held and billed as one search
 * a request (src/pricing/features.ts `openAIChatFeatures`). Its Anthropic-format usage counts no search, so every
 * route to it (Messages natively, chat and Responses translated to Messages) holds and bills it the same way, and
 * refuses it unpriced. Before, none held or billed it: 20 µ$ of tokens, the search at $0, and the model whose search
 * has no price was served.
 * 1 µ$ a token, $0.01 (10,000 µ$) a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'search-model-anthropic-type'
const SEARCH_MODEL = 'ant:openai/gpt-4o-search-preview'
const TOKENS = 20
const SEARCH = 10_000

withScriptedGateway(
  {
    pricing: {
      [SEARCH_MODEL]: { input_per_million: 1, output_per_million: 1, server_tools: { web_search: 0.01 } },
      'ant:openai/gpt-4o-mini-search-preview': { input_per_million: 1, output_per_million: 1 },
      'ant:perplexity/sonar-deep-research': { input_per_million: 1, output_per_million: 1, server_tools: { web_search: 0.01 } },
    },
  },
  (started) => {
    ;({ upstream, gw } = started)
  },
)

const USAGE = { input_tokens: 10, output_tokens: 10 }
const message = (usage: Record<string, unknown>) =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage })
const messageStream = () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: USAGE }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const post = async (path: string, body: unknown) => {
  if (!secret) ({ secret } = await gw.userWithKey({ id: USER, max_budget: 100 }))
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
}

async function billed(path: string, body: unknown): Promise<number> {
  if (!secret) ({ secret } = await gw.userWithKey({ id: USER, max_budget: 100 }))
  const row = await settledRow(gw, USER, async () => {
    const res = await post(path, body)
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('ok')
  return row.cost
}

const messages = [{ role: 'user', content: 'hi' }]
const ROUTES = [
  ['Messages', '/v1/messages', { model: SEARCH_MODEL, max_tokens: 50, messages }],
  ['chat translated to Messages', '/v1/chat/completions', { model: SEARCH_MODEL, messages }],
  ['Responses translated to Messages', '/v1/responses', { model: SEARCH_MODEL, input: 'hi' }],
] as const

for (const [route, path, body] of ROUTES) {
  test(`${route}: one search a request, JSON and SSE`, async () => {
    upstream.answer(() => message(USAGE))
    expect(await billed(path, body)).toBe(TOKENS + SEARCH)
    upstream.answer(messageStream)
    expect(await billed(path, { ...body, stream: true })).toBe(TOKENS + SEARCH)
  })
}

test('a usage that counts the search too bills it once', async () => {
  upstream.answer(() => message({ ...USAGE, server_tool_use: { web_search_requests: 1 } }))
  expect(await billed('/v1/messages', ROUTES[0][2])).toBe(TOKENS + SEARCH)
})

test('a search model whose search has no price is refused (402) before any upstream call', async () => {
  upstream.calls.length = 0
  const res = await post('/v1/messages', { model: 'ant:openai/gpt-4o-mini-search-preview', max_tokens: 50, messages })
  expect(res.status).toBe(402)
  expect(JSON.stringify(await res.json())).toContain('web_search')
  expect(upstream.calls).toHaveLength(0)
})

test('deep research, which runs many searches, is billed the searches its usage counts, not one a request', async () => {
  upstream.answer(() => message({ ...USAGE, server_tool_use: { web_search_requests: 3 } }))
  expect(await billed('/v1/messages', { model: 'ant:perplexity/sonar-deep-research', max_tokens: 50, messages })).toBe(TOKENS + 3 * SEARCH)
})
