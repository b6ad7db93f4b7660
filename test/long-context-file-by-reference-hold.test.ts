import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Cap-output on, native /v1/messages with Anthropic's long context window (`anthropic-beta: context-1m-…`): a file
 * by reference may be a text file, which Anthropic's Files API serves as a document bounded only by the window
 * (1M tokens), not by pages: the request's first file by reference is held at the window, not as a 100-page PDF.
 * Rates: 1 and 2 µ$ a token, ×2 past 200K input tokens.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: {
      'ant:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const message = (usage: Record<string, unknown>) =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage })

const post = (secret: string, body: unknown, beta: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-beta': beta },
    body: JSON.stringify(body),
  })

describe('cap-output on: a text document by file_id with the 1M window is held at what it can bill', () => {
  test('a plain-text file of 900,000 tokens by file_id cannot pass a $1 budget', async () => {
    const { secret } = await gw.userWithKey({ id: 'lc-text-file', max_budget: 1 })
    // Anthropic's Files API serves text/plain files as document blocks by file_id: their text is input, bounded
    // only by the context window (1M tokens with context-1m), not by any page count.
    upstream.answer(() => message({ input_tokens: 900_000, output_tokens: 16 }))
    const body = {
      model: 'ant:m',
      max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } }, { type: 'text', text: 'Summarise' }] }],
    }
    const res = await post(secret, body, 'context-1m-2025-08-07,files-api-2025-04-14')
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/lc-text-file')).body
    // Held as one 100-page PDF (300,000 tokens × 2 ≈ $0.60), it was served and settled at
    // 900,016 × 2 µ$ = $1.800064 against a budget of $1; held at the 1M window (≈ $2), it is refused.
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  })
})
