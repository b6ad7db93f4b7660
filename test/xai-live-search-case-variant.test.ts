/**
 * xAI's Live Search is held for the sources `search_parameters` lets it use (`liveSearchSources`: `mode` other than
 * `off`, up to `max_search_results`), read as written. A server or router reading keys ignoring case (Go's
 * encoding/json, under Unicode folding: see case-variant-keys.ts) takes `Mode` or `max_search_reſults` for them, the
 * last spelling winning: `{mode: "off", Mode: "on"}` searched unheld and unbilled, and `{max_search_results: 1,
 * Max_Search_Results: 50}` was held for 1 source of 50. So `search_parameters` is among the settings objects whose keys
 * must be in lowercase, as DashScope's `search_options` is. Each is refused 400 before any provider call.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

const pricing = { 'plain:grok-3': { input_per_million: 1, output_per_million: 2, server_tools: { live_search: 0.025 } } }
const ask = { model: 'plain:grok-3', messages: [{ role: 'user', content: 'what happened in the news today' }], max_tokens: 16 }

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing, cap_output_tokens: true, default_max_output_tokens: 64 }, (started) => ({ upstream, gw } = started))

test('search_parameters keys out of case (a mode or a source bound a case-folding server reads) are refused before the provider is called', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'the news' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 30, completion_tokens: 16, total_tokens: 46, num_sources_used: 50 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'live-search-case', max_budget: 10 })
  const variants = [{ mode: 'off', Mode: 'on' }, { max_search_results: 1, Max_Search_Results: 50 }, { mode: 'auto', max_search_results: 1, max_search_reſults: 50 }]
  const outcomes = []
  for (const search_parameters of variants) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ask, search_parameters }),
    })
    const answer = (await res.json()) as { error?: { code?: string } }
    outcomes.push({ keys: Object.keys(search_parameters).join(','), status: res.status, code: answer.error?.code })
  }
  await gw.settled()
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: variants.map((v) => ({ keys: Object.keys(v).join(','), status: 400, code: 'case_variant_key' })),
    upstreamCalls: 0,
  })
})

test('search_parameters in lowercase is served and held for its sources', async () => {
  const { secret } = await gw.userWithKey({ id: 'live-search-lowercase', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...ask, search_parameters: { mode: 'on', max_search_results: 2, sources: [{ type: 'web' }] } }),
  })
  await res.arrayBuffer()
  await gw.settled()
  expect(res.status).toBe(200)
})
