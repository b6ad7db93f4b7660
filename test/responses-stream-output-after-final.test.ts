import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A Responses stream's usage comes with the event that ends it (`response.completed`) and counts the output
 * generated up to it. Output streamed after that event is not counted there: as in the chat and Messages
 * meters, a usage followed by more output stands for nothing, and the stream pays as one without usage (its
 * hold). plain:m costs 1 µ$ a token in, 2 µ$ out (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('responses-after-final'))
})
afterAll(() => stop())

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const BIG = 'z'.repeat(20_000)
const created = { type: 'response.created', response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } }
const text = (delta: string) => ({ type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta })
const completed = { type: 'response.completed', response: { id: 'resp_1', object: 'response', status: 'completed', output: [], usage: { input_tokens: 20, output_tokens: 1, total_tokens: 21 } } }

async function streamed(events: Record<string, unknown>[]): Promise<{ text: string; cost: number; reserved: number }> {
  upstream.answer(() => sseResponse(events.map(event)))
  let body = ''
  const row = await settledRow(gw, 'responses-after-final', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_output_tokens: 4_000, stream: true, store: false, input: 'Write a lot' }),
    })
    expect(res.status).toBe(200)
    body = await res.text()
  })
  return { text: body, cost: row.cost, reserved: row.reserved }
}

describe('Responses stream: output after the final event', () => {
  test('20,000 bytes streamed after response.completed (whose usage says 1 output token) are not delivered for the price of 1 token', async () => {
    const { text: body, cost, reserved } = await streamed([created, text('ok'), completed, text(BIG)])
    // Either the output past the end never reaches the client, or it is paid for as the other meters pay it.
    if (body.includes(BIG)) expect(cost).toBeGreaterThanOrEqual(reserved)
    else expect(cost).toBe(20 + 1 * 2)
  })

  test('a final event repeated with a smaller usage (a proxy’s) shrinks nothing the first one stated', async () => {
    const counted = { ...completed, response: { ...completed.response, usage: { input_tokens: 20, output_tokens: 1_000, total_tokens: 1_020 } } }
    const { cost } = await streamed([created, text('ok'), counted, completed])
    expect(cost).toBe(20 + 1_000 * 2)
  })

  test('with no output after it, the final event’s usage is what the stream costs', async () => {
    const { cost } = await streamed([created, text('ok'), completed])
    expect(cost).toBe(20 + 1 * 2)
  })
})
