/**
 * DashScope's `search_options.search_strategy` is read as written (`refuseUncountedDashScopeSearch`), and a server
 * reading keys ignoring case (Go's encoding/json, under Unicode folding: see case-variant-keys.ts) takes
 * `Search_Strategy` or `search_ſtrategy` for it, the last spelling winning. So `search_options` is among the settings
 * objects whose keys must be in lowercase: else `agent_max` (many billed searches and page reads, none counted)
 * would pass as the default one-search `turbo`. Each is refused 400 before any provider call.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

const pricing = { 'plain:qwen3-max': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.004 } } }
const ask = { model: 'plain:qwen3-max', messages: [{ role: 'user', content: 'research every Qwen release this year' }], max_tokens: 16, enable_search: true }

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing, cap_output_tokens: true, default_max_output_tokens: 64 }, (started) => ({ upstream, gw } = started))

test('search_options keys out of case (a strategy a case-folding server reads) are refused before the provider is called', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'researched' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 48_000, completion_tokens: 16, total_tokens: 48_016 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'search-strategy-case', max_budget: 10 })
  const outcomes = []
  for (const search_options of [{ Search_Strategy: 'agent_max' }, { search_ſtrategy: 'max' }, { search_strategy: 'turbo', SEARCH_STRATEGY: 'agent_max' }]) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, search_options }),
    })
    const answer = (await res.json()) as { error?: { code?: string } }
    outcomes.push({ key: Object.keys(search_options).join(','), status: res.status, code: answer.error?.code })
  }
  await gw.settled()
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: ['Search_Strategy', 'search_ſtrategy', 'search_strategy,SEARCH_STRATEGY'].map((key) => ({ key, status: 400, code: 'case_variant_key' })),
    upstreamCalls: 0,
  })
})
