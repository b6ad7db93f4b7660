import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A 200 event stream whose first event is valid JSON the meter's own code cannot read (it throws rather than
 * returning null: `choices` an object, a `type` that is a number, nesting past the stack) is the gateway's cut,
 * paid as one (the input estimate at least), as stream-unreadable-event-charge.test.ts pays a NaN event. Before,
 * the pull's catch took the exception for a failed upstream read, and a `failed` stream with no output and no
 * usage was released at $0 though the provider had read the prompt. plain:m / ant:m: 1 µ$ an input token, 2 µ$
 * an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

const USER = 'meter-cannot-read'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

test('chat: a first chunk whose `choices` is an object (not iterable) ends the stream; the call is not free', async () => {
  upstream.answer(() => sseResponse(['data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":{}}\n\n', 'data: [DONE]\n\n']))
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x'.repeat(4_000) }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(upstream.calls.length).toBeGreaterThan(0)
  expect(row.status).toBe('error')
  // The provider read a 4,000-byte prompt and answered 200. Now: 0 µ$ (released as a provider failure).
  expect(row.cost).toBeGreaterThan(0)
})

test('messages: a first event nested 100,000 deep (the output counter overflows the stack) ends the stream; the call is not free', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  const event = `event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":${deep},"usage":{"input_tokens":10,"output_tokens":1}}}\n\n`
  upstream.answer(() => sseResponse([event, 'event: message_stop\ndata: {"type":"message_stop"}\n\n']))
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x'.repeat(4_000) }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('error')
  expect(row.cost).toBeGreaterThan(0)
})

test('responses: a first event whose `type` is a number (type.endsWith throws) ends the stream; the call is not free', async () => {
  upstream.answer(() => sseResponse(['data: {"type":1,"sequence_number":0}\n\n', 'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[],"usage":{"input_tokens":10,"output_tokens":0,"total_tokens":10}}}\n\n']))
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_output_tokens: 100, stream: true, store: false, input: 'x'.repeat(4_000) }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('error')
  expect(row.cost).toBeGreaterThan(0)
})
