import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A search model behind an Anthropic-type provider (OpenRouter's Anthropic endpoint serving OpenAI's
 * `…-search-preview`) searches on every request, and its Anthropic usage counts none of those searches: it is held
 * and billed one search a request (src/pricing/features.ts withModelSearch) whether or not the request also offers
 * Anthropic's web search tool, whose uses are the only ones the usage counts. Deep research behind the same provider
 * (cap-output off) needs a search price, as on chat (openAIChatFeatures holds a search model for one search).
 * 1 µ$ a token, $0.01 (10,000 µ$) a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'search-model-tool-offered'
const SEARCH_MODEL = 'ant:openai/gpt-4o-search-preview'
const TOKENS = 20
const SEARCH = 10_000

withScriptedGateway(
  {
    pricing: {
      [SEARCH_MODEL]: { input_per_million: 1, output_per_million: 1, server_tools: { web_search: 0.01 }, template_overhead_tokens: 0 },
      'ant:perplexity/sonar-deep-research': { input_per_million: 1, output_per_million: 1, template_overhead_tokens: 0 },
      'plain:perplexity/sonar-deep-research': { input_per_million: 1, output_per_million: 1, template_overhead_tokens: 0 },
    },
  },
  (started) => {
    ;({ upstream, gw } = started)
  },
)

const USAGE = { input_tokens: 10, output_tokens: 10 }
const message = () =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: USAGE })

const post = async (path: string, body: unknown) => {
  if (!secret) ({ secret } = await gw.userWithKey({ id: USER, max_budget: 100 }))
  return fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
}

const messages = [{ role: 'user', content: 'latest news?' }]

test('a search model offered an unused web_search tool is still billed its own search', async () => {
  if (!secret) ({ secret } = await gw.userWithKey({ id: USER, max_budget: 100 }))
  upstream.answer(message)
  const row = await settledRow(gw, USER, async () => {
    const res = await post('/v1/messages', { model: SEARCH_MODEL, max_tokens: 50, messages, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }] })
    expect(res.status).toBe(200)
    await res.text()
  })
  // As without the tool (test/search-model-behind-anthropic-type.test.ts): the tool ran no search, the model one.
  expect(row.cost).toBe(TOKENS + SEARCH)
})

test('deep research behind an Anthropic-type provider whose search has no price is refused 402, as on chat', async () => {
  upstream.calls.length = 0
  upstream.answer(message)
  const chat = await post('/v1/chat/completions', { model: 'plain:perplexity/sonar-deep-research', messages })
  await chat.text()
  const viaMessages = await post('/v1/messages', { model: 'ant:perplexity/sonar-deep-research', max_tokens: 50, messages })
  await viaMessages.text()
  expect({ chat: chat.status, messages: viaMessages.status }).toEqual({ chat: 402, messages: 402 })
})
