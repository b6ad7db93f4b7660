import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * OpenRouter's `plugins` are read by the billing rules as written (src/pricing/router-fields.ts
 * openRouterWebResults: `max_results`, `engine`, a file parser's `pdf.engine`), so their keys must be in lowercase
 * as every other level the gateway reads: a case-folding reader (Go's encoding/json, last spelling wins) would take
 * {max_results: 1, Max_Results: 50} for 50 web results held and billed as 1, and {engine: "exa", Engine: "native"}
 * for an engine the gateway refuses as unpriced.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'plain:web': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.004 }, template_overhead_tokens: 0 } },
    cap_output_tokens: true,
  },
  (started) => ({ upstream, gw } = started),
)

test('plugins keys out of case are refused 400 case_variant_key before any upstream call, as search_parameters keys are', async () => {
  const { secret } = await gw.userWithKey({ id: 'plugins-case', max_budget: 10 })
  upstream.answer(() => jsonResponse({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }))
  const outcomes = []
  for (const plugin of [
    { id: 'web', max_results: 1, Max_Results: 50 },
    { id: 'web', max_results: 1, engine: 'exa', Engine: 'native' },
    { id: 'file-parser', pdf: { engine: 'pdf-text', Engine: 'mistral-ocr' } },
  ]) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:web', max_tokens: 16, messages: [{ role: 'user', content: 'news?' }], plugins: [plugin] }),
    })
    outcomes.push({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code ?? null })
  }
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({ outcomes: Array(3).fill({ status: 400, code: 'case_variant_key' }), upstreamCalls: 0 })
})
