import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A 200 event stream whose first output event is JSON the gateway's JSON.parse refuses but Python's `json`
 * (openai-python, anthropic-python) accepts: `-Infinity` / `NaN`, which Python servers (json.dumps with its
 * default allow_nan) write for a logprob of -inf. The meter stops the stream there as malformed (rightly not
 * passing it on); that cut is the gateway's, not a provider failure: the provider answered 200, read the prompt
 * and generated that event. So it pays as a stream the gateway cuts at its own timeout does
 * (`timedOutStreamOutcome`): the input estimate at least, status error, as the JSON path pays its whole hold for a
 * 200 answer that does not parse (SPEC §6: a request the provider received is never free). Before, the stream
 * ended `failed` with 0 bytes delivered and no usage, released at $0 as a provider failure "before any output".
 * So does an event that is valid JSON but of a shape the meter's own code throws on rather than refusing it
 * (`choices` an object, a `type` that is a number, nesting past the stack): before, the pull's catch took the
 * throw for a failed upstream read, and the call was released at $0 though the provider read the prompt.
 * plain:m / ant:m: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

const USER = 'unreadable-event'

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

test('chat: a content chunk with a -Infinity logprob (Python JSON) stops the stream; the call is not free', async () => {
  const role = 'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
  const content =
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":{"content":[{"token":"Hello","logprob":-Infinity,"bytes":[72,101,108,108,111],"top_logprobs":[]}]},"finish_reason":null}]}\n\n'
  upstream.answer(() => sseResponse([role, content, 'data: [DONE]\n\n']))
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 100, stream: true, logprobs: true, messages: [{ role: 'user', content: 'x'.repeat(4_000) }] }),
    })
    expect(res.status).toBe(200)
    text = await res.text()
  })
  expect(text).toContain('malformed event')
  expect(row.status).toBe('error')
  // The provider read a 4,000-byte prompt (up to ~4,000 input tokens held) and answered. Before a fix: 0 µ$.
  expect(row.cost).toBeGreaterThan(0)
})

test('messages: a NaN in the first event (message_start) stops the stream; the call is not free', async () => {
  const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"usage":{"input_tokens":NaN,"output_tokens":1}}}\n\n'
  upstream.answer(() => sseResponse([start, 'event: message_stop\ndata: {"type":"message_stop"}\n\n']))
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'x'.repeat(4_000) }] }),
    })
    expect(res.status).toBe(200)
    text = await res.text()
  })
  expect(text).toContain('malformed event')
  expect(row.status).toBe('error')
  expect(row.cost).toBeGreaterThan(0)
})

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
