/**
 * With cap-output on, a file by reference towards Anthropic was held as 600 PDF pages × 3,000 tokens (1.8M input
 * tokens) when the model's row states no context window: the window bounded the hold only where it was known. But no
 * Claude model has a window past 1M tokens (LONG_CONTEXT_WINDOW_TOKENS), and Anthropic refuses a prompt past its
 * window, so no request is billed 1.8M input tokens. One file by id to claude-opus-4-6 ($5/M input) was held $9 for
 * an input Anthropic bills at most $5 for: a user with $6 left was refused 402 for a request its budget covers.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { cap_output_tokens: true, pricing: { 'ant:claude-opus-4-6': { input_per_million: 5, output_per_million: 25 } } },
  (started) => ({ upstream, gw } = started),
)

test('a document by file id to a Claude model with no window on its row is held no more than a 1M-token prompt', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1_000, output_tokens: 2 } }),
  )
  // $6: a 1M-token prompt ($5), the request's own text and its 16 output tokens fit; 1.8M tokens ($9) do not.
  const { secret } = await gw.userWithKey({ id: 'one-file', max_budget: 6 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'ant:claude-opus-4-6',
      max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } }, { type: 'text', text: 'Summarise.' }] }],
    }),
  })
  const text = await res.text()
  expect({ status: res.status, body: res.status === 200 ? null : text }).toEqual({ status: 200, body: null })
})
