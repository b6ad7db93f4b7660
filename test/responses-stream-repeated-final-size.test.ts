import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, sseResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A Responses stream's final event repeated with a smaller usage (a proxy's) shrinks nothing the first one stated
 * on the bill (metering/responses-stream.ts keeps the larger counts; responses-stream-output-after-final.test.ts),
 * nor in the stored response's recorded size: `record` (routes/responses.ts) keeps the largest usage seen in the
 * request, so the row stays at the provider's 100,010-token context and a request chained on it is held for that.
 * Cap-output on: spend <= max_budget must hold (SPEC §6). Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('a stored response whose final event is repeated with a smaller usage', () => {
  test('is sized at the larger usage: a request chained on it cannot pass the budget (cap-output on)', async () => {
    const { secret } = await gw.userWithKey({ id: 'repeated-final', max_budget: 10 })
    const response = (u: unknown) => ({ id: 'resp_repeated_final', object: 'response', status: 'completed', model: 'm', output: [], usage: u })
    upstream.answer(() => sseResponse([
      { type: 'response.created', response: { ...response(null), status: 'in_progress' } },
      { type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: 'ok' },
      { type: 'response.completed', response: response(usage(100_000, 10)) },
      { type: 'response.completed', response: response(usage(20, 1)) },
    ].map(event)))
    const first = await post(secret, { model: 'plain:m', input: 'Read the attached corpus', stream: true })
    expect(first.status).toBe(200)
    await first.text()
    await gw.settled()

    const row = gw.query<{ context_tokens: number }>("SELECT context_tokens FROM stored_responses WHERE id = 'resp_repeated_final'")[0]!

    // 20,000 µ$ left: far less than the 100,010 tokens of context the provider stored and re-reads.
    const before = (await gw.admin('GET', '/v1/users/repeated-final')).body
    await gw.admin('PATCH', '/v1/users/repeated-final', { max_budget: Number((before.spend + 0.02).toFixed(6)) })
    upstream.calls.length = 0
    upstream.answer(() => jsonResponse({
      id: 'resp_repeated_final2', object: 'response', status: 'completed', model: 'm', usage: usage(100_020, 5),
      output: [{ type: 'message', id: 'msg_repeated_final2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }))
    const res = await post(secret, { model: 'plain:m', input: 'Go on', previous_response_id: 'resp_repeated_final', max_output_tokens: 16 })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/repeated-final')).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
    expect(row.context_tokens).toBeGreaterThanOrEqual(100_010)
  })
})
