import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a `server_tool_use` block shown twice under its id (a compatible server sending the
 * message whole in `message_start`, then the same block again in `content_block_start`) is one use
 * (src/metering/anthropic-stream.ts `noteServerToolUse`: "One use, however often it is shown"). Code execution is
 * counted only from the blocks, so dropping the by-id check (`if (this.usesShown.has(id)) return`) survived and bills
 * the execution twice. ant:m: 1 µ$ in, 2 µ$ out, code execution 0.05 $ a use.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } } }, (s) => ({ upstream, gw } = s))

const use = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'bash_code_execution', input: { command: 'python -c "print(6*7)"' } }
const result = { type: 'bash_code_execution_tool_result', tool_use_id: 'srvtoolu_1', content: { type: 'bash_code_execution_result', stdout: '42\n', stderr: '', return_code: 0, content: [] } }

test('a code execution block shown in message_start and again in content_block_start is billed once', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [use], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: use }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'content_block_start', index: 1, content_block: result }),
      anthropicEvent({ type: 'content_block_stop', index: 1 }),
      anthropicEvent({ type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }),
      anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: '42' } }),
      anthropicEvent({ type: 'content_block_stop', index: 2 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 10, server_tool_use: { web_search_requests: 0, web_fetch_requests: 0 } } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  const { secret } = await gw.userWithKey({ id: 'kc-shown-twice', max_budget: 10 })
  const row = await settledRow(gw, 'kc-shown-twice', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 50, stream: true, tools: [{ type: 'code_execution_20250825', name: 'code_execution' }], messages: [{ role: 'user', content: 'Compute 6*7' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(100 + 10 * 2 + 50_000) // one execution, not two (100,120)
})
