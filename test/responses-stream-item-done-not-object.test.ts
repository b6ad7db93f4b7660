import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * An upstream (a compatible server, a proxy) whose `response.output_item.done` carries an `item` that is not an
 * object (a string): the meter reads it without complaint, but the route's end handler looked into it with `in`,
 * which throws on a string. The throw escaped the meter's `finish`, so the stream's last read was never passed on
 * nor closed: the client waited for an end that never came. Only items with an id are collected now, and an end
 * handler that throws no longer leaves the client's stream open.
 */
const USER = 'responses-stream-item-done-not-object'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const response = { id: 'resp_item_string', object: 'response', status: 'in_progress', output: [], usage: null }
const events = [
  { type: 'response.created', response },
  { type: 'response.output_text.delta', output_index: 0, item_id: 'msg_1', delta: 'hello' },
  { type: 'response.output_item.done', output_index: 0, item: 'msg_1' },
  { type: 'response.completed', response: { ...response, status: 'completed', usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } } },
].map(event)

/** How a stream's reading ends: 'ended', or a timeout's message; and what it read. */
async function readToEnd(body: ReadableStream<Uint8Array>): Promise<{ ended: string; text: string }> {
  const reader = body.getReader()
  let text = ''
  const read = (async () => {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return 'ended'
      text += new TextDecoder().decode(value)
    }
  })()
  const ended = await Promise.race([read, Bun.sleep(3_000).then(() => 'no end after 3 s')])
  await reader.cancel().catch(() => {})
  return { ended, text }
}

test('a stream whose output_item.done carries a non-object item still ends, with its final event', async () => {
  upstream.answer(() => sseResponse(events))
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'hi', max_output_tokens: 16, stream: true, store: false }),
  })
  expect(res.status).toBe(200)
  const { ended, text } = await readToEnd(res.body!)
  expect({ ended, final: text.includes('response.completed') }).toEqual({ ended: 'ended', final: true })
}, 10_000)

test('an end handler that throws still lets the client stream end, and is logged', async () => {
  const logged = spyOn(console, 'error').mockImplementation(() => {})
  try {
    const out = meterResponsesStream(sseResponse(events).body!, {
      idleTimeoutMs: 5_000,
      signal: upstreamSignal(5_000),
      onEnd: () => {
        throw new Error('end handler failed')
      },
    })
    const { ended, text } = await readToEnd(out)
    expect({ ended, final: text.includes('response.completed') }).toEqual({ ended: 'ended', final: true })
    expect(logged).toHaveBeenCalled()
  } finally {
    logged.mockRestore()
  }
}, 10_000)
