/**
 * DashScope (Alibaba Model Studio, Qwen) chat `enable_search` takes `search_options.search_strategy`, and tollgate
 * holds and bills a search as one call (`server_tools.web_search`). Qwen's guide: `agent` bills one search call per
 * invocation; `agent_max` "may search multiple times" and reads whole pages with the web extractor, each call billed,
 * the pages as input; `max` queries several search engines. Its OpenAI-compatible chat answer counts no searches, so
 * the calls past one could be neither held (cap-output's hard bound) nor billed: `agent_max`, `max` and any strategy
 * not known are refused 400 `feature_unsupported` before any hold or provider call, with cap-output on or off.
 * Rates: $1/M input, $2/M output, a search $0.004.
 */
import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

const pricing = { 'plain:qwen3-max': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.004 } } }
const ask = { model: 'plain:qwen3-max', messages: [{ role: 'user', content: 'research every Qwen release this year and compare them' }], max_tokens: 16, enable_thinking: true, enable_search: true }

for (const capOutput of [true, false]) {
  describe(`cap-output ${capOutput ? 'on' : 'off'}`, () => {
    let upstream: ScriptedUpstream
    let gw: TestGateway
    withScriptedGateway({ pricing, cap_output_tokens: capOutput, default_max_output_tokens: 64 }, (started) => ({ upstream, gw } = started))
    const answerWith = (promptTokens: number) =>
      upstream.answer(({ body }) =>
        jsonResponse({
          id: 'chatcmpl-1', object: 'chat.completion', model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'researched answer' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: promptTokens, completion_tokens: 16, total_tokens: promptTokens + 16 },
        }),
      )
    const post = (secret: string, body: Record<string, unknown>) =>
      fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

    test('search_strategy "agent_max", "max" or one not known is refused before any hold or provider call', async () => {
      // What agent_max would bill: several searches and whole pages read (prompt tokens), no count of them in the usage.
      answerWith(48_000)
      const { secret } = await gw.userWithKey({ id: `search-strategy-refused-${capOutput}`, max_budget: 10 })
      const outcomes = []
      for (const strategy of ['agent_max', 'max', 'deep']) {
        const res = await post(secret, { ...ask, search_options: { search_strategy: strategy } })
        outcomes.push({ strategy, status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code ?? null })
      }
      await gw.settled()
      expect({ outcomes, upstreamCalls: upstream.calls.length, reservations: gw.query('SELECT count(*) AS n FROM reservations')[0].n }).toEqual({
        outcomes: ['agent_max', 'max', 'deep'].map((strategy) => ({ strategy, status: 400, code: 'feature_unsupported' })),
        upstreamCalls: 0,
        reservations: 0,
      })
    })

    test('"agent", "turbo" and no strategy are served and billed as one search', async () => {
      const user = `search-strategy-served-${capOutput}`
      answerWith(20)
      const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
      for (const search_options of [{ search_strategy: 'agent' }, { search_strategy: 'turbo' }, undefined]) {
        const row = await settledRow(gw, user, async () => {
          const res = await post(secret, { ...ask, search_options })
          expect(res.status).toBe(200)
          await res.text()
        })
        expect(row.cost).toBe(20 + 16 * 2 + 4_000)
      }
    })
  })
}
