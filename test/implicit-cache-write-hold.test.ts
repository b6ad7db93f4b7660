import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * OpenAI's prompt caching is automatic, no marker in the request: "Cache writes have no additional fee on models
 * before the GPT-5.6 family. For GPT-5.6 models and later model families, cache writes cost 1.25× the uncached
 * input token rate [...] both implicit and explicit caching. OpenAI reports writes in cache_write_tokens"
 * (https://developers.openai.com/api/docs/guides/prompt-caching). The gateway settles `cache_write_tokens` at the
 * row's cache-write rate, but held a request without `cache_control` at the plain input rate only: a first
 * request whose whole prompt is written to the cache cost 1.25× its hold's input (held 40,136 µ$, billed
 * 50,128). With cap-output on (SPEC §6: `spend <= max_budget`) an OpenAI chat or Responses request is held at the
 * 5-minute cache-write rate where its row sets `cache_write_per_million` (a row without one is a model whose
 * writes are not billed).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const TEXT = 'x'.repeat(40_000)
// A token is at least a byte: the prompt the provider counts is at most its bytes (the estimate's own bound).
const PROMPT = TEXT.length

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:gpt-5.6': { input_per_million: 1, output_per_million: 8, cached_input_per_million: 0.1, cache_write_per_million: 1.25 } },
  },
  (started) => ({ upstream, gw } = started),
)

/** The whole prompt written to the cache (a first request), reported as OpenAI reports it. */
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
  test(`cap-output on: an implicit cache write (no cache_control) on ${route} never takes spend past max_budget`, async () => {
    upstream.answer(writeItAll)
    const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `implicit-write-${route}`)
    expect(JSON.stringify(upstream.calls.at(-1)!.body)).not.toContain('cache_control')
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
