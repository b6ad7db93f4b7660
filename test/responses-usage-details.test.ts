import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: the Responses usage's `output_tokens_details` is read as the chat usage's
 * `completion_tokens_details` is (src/translate/usage.ts `responsesUsage`). README's feature table: image output is
 * billed from `completion_tokens_details.image_tokens` (Responses: `output_tokens_details.image_tokens`), the rest of
 * the output at the text rate; reasoning a server leaves out of its output count is billed as output all the same.
 * No other test reads those two Responses fields, so dropping either one billed less than the provider charges.
 *
 * plain:m: 1 µ$ an input token, 2 µ$ an output token; plain:img: 2.5 µ$ text output, 30 µ$ an image output token
 * (OpenRouter's google/gemini-2.5-flash-image).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2 },
      'plain:img': { input_per_million: 1, output_per_million: 2.5, image_output_per_million: 30 },
    },
  },
  (s) => ({ upstream, gw } = s),
)

const response = (usage: Record<string, unknown>) =>
  jsonResponse({
    id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    usage,
  })

async function billed(user: string, body: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await postResponses(gw, secret, body)
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('Responses usage details are billed', () => {
  test('reasoning_tokens larger than output_tokens (a proxy: output 0, reasoning 60, no total) is billed as output', async () => {
    // Mutant killed: responsesUsage's billedOutput(..., count(u.output_tokens_details?.reasoning_tokens)) → billedOutput(..., 0).
    upstream.answer(() => response({ input_tokens: 20, output_tokens: 0, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 60 } }))
    const row = await billed('kc-resp-reasoning', { model: 'plain:m', input: 'think', max_output_tokens: 2000, store: false })
    expect({ output: row.completion_tokens, cost: row.cost }).toEqual({ output: 60, cost: 20 + 60 * 2 })
  })

  test('output_tokens_details.image_tokens settle at image_output_per_million, the rest of the output at the text rate', async () => {
    // Mutant killed: responsesUsage's `count(u.output_tokens_details?.image_tokens)` → 0 (every image token at the text rate).
    upstream.answer(() =>
      response({ input_tokens: 100, output_tokens: 1_300, total_tokens: 1_400, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0, image_tokens: 1_290 } }),
    )
    const row = await billed('kc-resp-image', { model: 'plain:img', input: 'draw a cat', modalities: ['image', 'text'], max_output_tokens: 2000, store: false })
    // 100 × 1 + 10 × 2.5 + 1,290 × 30 = 38,825 µ$ (at the text rate: 3,350 µ$)
    expect({ output: row.completion_tokens, cost: row.cost }).toEqual({ output: 1_300, cost: 38_825 })
  })
})
