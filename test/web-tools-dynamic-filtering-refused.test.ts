import { expect, test } from 'bun:test'
import { anthropicFeatures } from '../src/pricing/features'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Anthropic's web search and web fetch with dynamic filtering (`web_search_20260209`, `web_fetch_20260209`: what
 * Claude Code and the SDK docs pick on Opus 4.6+ and Sonnet 4.6+) run code execution over their results: each
 * `code_execution` / `bash_code_execution` call is one more `server_tool_use`, after which the model is sampled again
 * over the whole context, one more pass of the loop, which `max_uses` does not bound. A search with max_uses 1 whose
 * results are reworked in eight code runs reads the prompt nine times, and was held for two: spend passed max_budget
 * with cap-output on (SPEC §6: spend <= max_budget). With cap-output on they are refused, as code execution is; the
 * versions without dynamic filtering stay served, and with cap-output off the filtering ones are held as before.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'ant:claude-sonnet-4-6'

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.01 } } },
  },
  (started) => ({ upstream, gw } = started),
)

const answer = () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'Nothing changed.' }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 100, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  })

const send = async (tool: Record<string, unknown>, id: string) => {
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  const res = await fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 2048, tools: [tool], messages: [{ role: 'user', content: 'Check the current docs of Bun.serve.' }] }),
  })
  return { status: res.status, text: await res.text() }
}

test('cap-output on: web search and web fetch with dynamic filtering are refused before any hold, naming the version that is served', async () => {
  upstream.answer(answer)
  const search = await send({ type: 'web_search_20260209', name: 'web_search', max_uses: 1 }, 'filtering-search')
  expect(search.status, search.text).toBe(400)
  expect(search.text).toContain('web_search_20260209 is not served with cap-output on')
  expect(search.text).toContain('web_search_20250305')
  const fetched = await send({ type: 'web_fetch_20260209', name: 'web_fetch', max_uses: 1, max_content_tokens: 2_000 }, 'filtering-fetch')
  expect(fetched.status, fetched.text).toBe(400)
  expect(fetched.text).toContain('web_fetch_20260209 is not served with cap-output on')
  expect(upstream.calls.length).toBe(0)
})

test('cap-output on: web search and web fetch without dynamic filtering are served', async () => {
  upstream.answer(answer)
  expect((await send({ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }, 'plain-search')).status).toBe(200)
  expect((await send({ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 1, max_content_tokens: 2_000 }, 'plain-fetch')).status).toBe(200)
  expect(upstream.calls.length).toBe(2)
})

test('cap-output off: dynamic filtering is held as its max_uses allow, as before', () => {
  const bounds = { defaultMaxUses: 5, useInputTokens: 20_000 }
  const body = (type: string) => ({ model: 'm', max_tokens: 10, messages: [], tools: [{ type, name: type.slice(0, 9), max_uses: 1 }] })
  expect(anthropicFeatures(body('web_search_20260209'), bounds).features).toMatchObject({ serverTools: { web_search: 1 }, toolLoopUses: 1 })
  expect(anthropicFeatures(body('web_fetch_20260209'), bounds).features).toMatchObject({ toolLoopUses: 1 })
  expect(() => anthropicFeatures(body('web_search_20260209'), { ...bounds, hardBounds: true })).toThrow('dynamic filtering')
})
