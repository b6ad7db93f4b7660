import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Settlement bills the cache writes OpenAI reports on a row without a write rate at the unset-rate fallback,
 * 1.25× input (ratesOf); with cap-output on the hold covers them at that rate too. Before, only rows that set
 * `cache_write_per_million` were held for writes OpenAI makes by itself: a GPT-5.6 row typed with the SPEC's
 * fields (input, output, cached), its prompt written to the cache, was held 40,136 µ$ and billed 50,128, and
 * spend passed max_budget (SPEC §6: with cap-output on, spend <= max_budget is an invariant).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const TEXT = 'x'.repeat(40_000)
const PROMPT = TEXT.length

withScriptedGateway(
  {
    cap_output_tokens: true,
    // No cache_write_per_million: the SPEC's own fields only.
    pricing: { 'plain:gpt-5.6': { input_per_million: 1, output_per_million: 8, cached_input_per_million: 0.1 } },
  },
  (started) => ({ upstream, gw } = started),
)

const writeItAll = ({ path, body }: ScriptedCall) => {
  if (path.endsWith('/responses'))
    return jsonResponse({
      id: 'resp_1', object: 'response', status: 'incomplete', model: body.model,
      usage: { input_tokens: PROMPT, input_tokens_details: { cached_tokens: 0, cache_write_tokens: PROMPT }, output_tokens: body.max_output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: PROMPT + body.max_output_tokens },
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    })
  const max = body.max_tokens ?? body.max_completion_tokens
  return jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: PROMPT, completion_tokens: max, total_tokens: PROMPT + max, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: PROMPT } },
  })
}

const cases: [string, string, unknown][] = [
  ['responses', '/v1/responses', { model: 'plain:gpt-5.6', max_output_tokens: 16, store: false, input: TEXT }],
  ['chat', '/v1/chat/completions', { model: 'plain:gpt-5.6', max_tokens: 16, messages: [{ role: 'user', content: TEXT }] }],
]
for (const [route, path, body] of cases)
  test(`cap-output on, row without a cache-write rate: an implicit cache write on ${route} never takes spend past max_budget`, async () => {
    upstream.answer(writeItAll)
    const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `rt-aq-write-no-rate-${route}`)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
