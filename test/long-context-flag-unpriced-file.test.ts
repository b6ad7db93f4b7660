import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Cap-output off (the default). /v1/messages with Anthropic's long context window (`anthropic-beta: context-1m-…`)
 * on a model whose price has no `service_tiers.long_context`. The prompt holds a document by file_id, whose size
 * the gateway cannot see (its estimate counts the media bound, far under 200K). Anthropic bills a prompt past 200K
 * at 2× input and 1.5× output; the price book cannot price that, so SPEC §5 wants a 402 before the call.
 * Before the fix the estimate never passed 200K, so admission never asked for the long-context price, and the
 * 600,000-token prompt was served and billed at the plain rates: $0.602 for what Anthropic bills $1.203.
 * Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:bare': { input_per_million: 1, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

describe('long context window asked for on a model that cannot price it', () => {
  test('a document by file_id with context-1m: refused 402, not billed at plain rates', async () => {
    const { secret } = await gw.userWithKey({ id: 'lc-unpriced-file', max_budget: 10 })
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 600_000, output_tokens: 1_000 },
      }),
    )
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-beta': 'context-1m-2025-08-07,files-api-2025-04-14' },
      body: JSON.stringify({
        model: 'ant:bare',
        max_tokens: 1_000,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } }, { type: 'text', text: 'Summarise' }] }],
      }),
    })
    const text = await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/lc-unpriced-file')).body
    // Anthropic bills 600,000 × 1 µ$ × 2 + 1,000 × 2 µ$ × 1.5 = 1,203,000 µ$ = $1.203.
    // Either refuse it (nothing upstream, nothing spent) or record at least what the provider bills.
    if (res.status === 402) expect({ upstreamCalls: upstream.calls.length, spend: user.spend, reserved: user.reserved }).toEqual({ upstreamCalls: 0, spend: 0, reserved: 0 })
    else expect(user.spend).toBeGreaterThanOrEqual(1.203)
    expect(res.status).toBe(402)
    expect(text).toMatch(/long context window/)
  })
})
