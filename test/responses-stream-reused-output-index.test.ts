import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Chat→Responses shims (LiteLLM's bridge, llmgateway before #2908, freellmapi before #846) gave a text message and
 * the tool call after it the same `output_index` (0). The function call arrives whole in its `output_item.added` (no
 * argument deltas). Found by that index, the message's counts would take the call's 200+ argument bytes for what the
 * message already delivered and count them as 0; an item that begins is counted anew, and an id decides before an
 * index. The provider then fails before its final usage: the row pays the input estimate plus the output counted.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

let seq = 0
const ev = (d: Record<string, unknown>) => `event: ${d.type}\ndata: ${JSON.stringify({ ...d, sequence_number: seq++ })}\n\n`
const TEXT = 't'.repeat(300)
const ARGS = '{"q":"' + 'a'.repeat(200) + '"}'

function stream(): string[] {
  seq = 0
  const msg = { id: 'msg_1', type: 'message', role: 'assistant', status: 'in_progress', content: [] as unknown[] }
  const call = { id: 'fc_1', type: 'function_call', status: 'completed', name: 'f', arguments: ARGS, call_id: 'call_1' }
  return [
    ev({ type: 'response.created', response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }),
    ev({ type: 'response.output_item.added', output_index: 0, item: msg }),
    ev({ type: 'response.content_part.added', output_index: 0, item_id: 'msg_1', content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }),
    ev({ type: 'response.output_text.delta', output_index: 0, item_id: 'msg_1', content_index: 0, delta: TEXT }),
    ev({ type: 'response.output_text.done', output_index: 0, item_id: 'msg_1', content_index: 0, text: TEXT }),
    ev({ type: 'response.output_item.done', output_index: 0, item: { ...msg, status: 'completed', content: [{ type: 'output_text', text: TEXT, annotations: [] }] } }),
    // The shim's tool call, at the index it hard-codes: whole in its `.added`, then its `.done`.
    ev({ type: 'response.output_item.added', output_index: 0, item: call }),
    ev({ type: 'response.output_item.done', output_index: 0, item: call }),
    ev({ type: 'error', code: 'server_error', message: 'The server had an error while processing your request.', param: null }),
  ]
}

test('an item that begins at an index a finished item used is counted as new output', async () => {
  upstream.answer(() => sseResponse(stream()))
  const { secret } = await gw.userWithKey({ id: 'responses-reused-index', max_budget: 10 })
  const row = await settledRow(gw, 'responses-reused-index', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_output_tokens: 4_000, stream: true, store: false, input: 'say something, then call f', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('error')
  // The text (300 bytes) and the call's name and arguments (1 + 208 bytes), each counted once.
  expect(row.completion_tokens).toBe(TEXT.length + 1 + ARGS.length)
})
