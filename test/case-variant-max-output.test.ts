/**
 * With cap-output on (SPEC §6: the estimate is a hard bound, `spend <= max_budget`), the Responses route sends its
 * bound as `max_output_tokens`. Ollama's /v1/responses decodes with Go's encoding/json (keys matched ignoring case,
 * the last one winning; Ollama maps it to num_predict): a client's `Max_Output_Tokens` after the bound would be the
 * max the server generates to, while the hold covered 16 tokens and settlement bills no more.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { goField } from './support/go-json'
import { CAPPED_PLAIN_M, jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

test('cap-output on: the Responses max the server reads is the bound held, whatever other spelling the client adds', async () => {
  const { secret } = await gw.userWithKey({ id: 'max-case', max_budget: 1 })
  upstream.answer(({ body }) => {
    const max = Number(goField(body, 'max_output_tokens'))
    return jsonResponse({
      id: 'resp_1', object: 'response', status: 'completed', model: 'm',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'x'.repeat(10), annotations: [] }] }],
      usage: { input_tokens: 5, output_tokens: max, total_tokens: 5 + max },
    })
  })
  const res = await postResponses(gw, secret, { model: 'plain:m', input: 'hi', store: false, max_output_tokens: 16, Max_Output_Tokens: 100000 })
  await res.text()
  // Refused (no call), or sent so that the server can only read the bound held: 16 tokens.
  if (res.status !== 200) expect(upstream.calls.length).toBe(0)
  for (const call of upstream.calls) expect(Number(goField(call.body, 'max_output_tokens'))).toBeLessThanOrEqual(16)
})
