/**
 * A Responses stream whose answer comes as whole items (`response.output_item.added` / `.done` carrying the
 * message's text, no `output_text.delta` events) and that ends before its terminal event (the usage) is charged
 * for the text delivered, as a stream of deltas is (SPEC §6: only an upstream error before any output is
 * released). Before, the meter counted output only from `.delta` events and call items: 0 µ$, status error, the
 * answer delivered free. Found by the routers' bill simulator (red team ax).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'plain:m': { input_per_million: 3, output_per_million: 15 } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)

const ev = (d: any) => `event: ${d.type}\ndata: ${JSON.stringify(d)}\n\n`

test('Responses stream: a whole message item delivered, then the stream ends without usage: charged, not released', async () => {
  const { secret } = await gw.userWithKey({ id: 'whole-items', max_budget: 10 })
  const message = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'the whole answer, delivered in one item', annotations: [] }] }
  upstream.answer(() =>
    sseResponse([
      ev({ type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } }),
      ev({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: message }),
      ev({ type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: message }),
    ]),
  )
  let delivered = ''
  const row = await settledRow(gw, 'whole-items', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', input: 'hi', store: false, stream: true }),
    })
    expect(res.status).toBe(200)
    delivered = await res.text()
  })
  expect(delivered).toContain('the whole answer, delivered in one item')
  // Before a fix: 0 µ$ (status error), the answer delivered free.
  expect(row.cost).toBeGreaterThan(0)
})
