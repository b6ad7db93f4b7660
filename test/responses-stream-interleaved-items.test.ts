import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Two parallel function calls whose Responses events interleave (both `output_item.added`, their argument deltas
 * alternating, then each one's `.done` events). The meter kept the counts of one item only, restarted at any
 * event naming another item, so every event was a switch: each `function_call_arguments.done` and each
 * `output_item.done` found nothing held and counted its item whole again. 218 bytes of generated calls were
 * metered as 652 (3×), and a stream that then fails (or is cut) pays the input estimate plus that count: the
 * output charged three times. Counts are now kept per item for the whole stream.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

let seq = 0
const ev = (d: Record<string, unknown>) => `event: ${d.type}\ndata: ${JSON.stringify({ ...d, sequence_number: seq++ })}\n\n`
const ARGS = ['{"a":"' + 'x'.repeat(100) + '"}', '{"b":"' + 'y'.repeat(100) + '"}']
const item = (i: number, args: string) => ({ id: `fc_${i}`, type: 'function_call', status: 'in_progress', name: 'f', arguments: args, call_id: `call_${i}` })
/** What the two calls generated: their arguments and names (ids are framing). */
const GENERATED = ARGS[0]!.length + ARGS[1]!.length + 2

function interleaved(): string[] {
  seq = 0
  const events = [ev({ type: 'response.created', response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } })]
  for (const i of [0, 1]) events.push(ev({ type: 'response.output_item.added', output_index: i, item: item(i, '') }))
  for (let k = 0; k < 4; k++)
    for (const i of [0, 1]) events.push(ev({ type: 'response.function_call_arguments.delta', output_index: i, item_id: `fc_${i}`, delta: ARGS[i]!.slice(k * 27, (k + 1) * 27) }))
  for (const i of [0, 1]) events.push(ev({ type: 'response.function_call_arguments.done', output_index: i, item_id: `fc_${i}`, arguments: ARGS[i] }))
  for (const i of [0, 1]) events.push(ev({ type: 'response.output_item.done', output_index: i, item: { ...item(i, ARGS[i]!), status: 'completed' } }))
  // The provider fails before its final event: the stream pays the input estimate plus the output delivered.
  events.push(ev({ type: 'error', code: 'server_error', message: 'The server had an error while processing your request.', param: null }))
  return events
}

test('interleaved parallel calls are counted once each, not three times', async () => {
  upstream.answer(() => sseResponse(interleaved()))
  const { secret } = await gw.userWithKey({ id: 'responses-interleaved-calls', max_budget: 10 })
  const row = await settledRow(gw, 'responses-interleaved-calls', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_output_tokens: 4_000, stream: true, store: false, input: 'call f twice', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('error')
  expect(row.completion_tokens).toBeLessThanOrEqual(GENERATED)
  // Each byte delivered counts once: nor is any of it left out.
  expect(row.completion_tokens).toBe(GENERATED)
})
