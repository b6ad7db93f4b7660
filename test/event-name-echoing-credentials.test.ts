/**
 * SPEC §2/§3: the provider's credentials are never returned to a client. A stream's comment, `id:` and `retry:`
 * lines are dropped from what is relayed (the provider's own text, free to echo what it was sent), and an event
 * whose data quotes the credentials stops the stream (metered-stream's `echo`). So does one whose name (`event: …`,
 * relayed as it came) quotes them: an echoing server or debugging proxy that names its events after what it
 * received, on the native Anthropic path and on OpenAI's alike. The client gets the stream up to that event, then
 * the error event that says why. An event of two `event:` lines is named by the last, which is what a client
 * dispatches: the first, overridden, is dropped from what is relayed, whatever it quotes.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { anthropicEvent, openAIEvent, scriptedGateway, scriptedProviders, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-event-name-echo'))
})
afterAll(() => stop())

const ECHOED = 'The upstream stream sent an event quoting the credentials the gateway sent it'

const post = async (path: string, body: unknown) => {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const anthropicStream = [
  anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
  anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hello' } }),
  anthropicEvent({ type: 'content_block_stop', index: 0 }),
  anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } }),
  anthropicEvent({ type: 'message_stop' }),
]

beforeEach(() => {
  upstream.calls.length = 0
})

test('Messages stream: an event named after the x-api-key the gateway sent is not relayed with that key', async () => {
  const KEY = scriptedProviders(upstream).ant.api_key
  upstream.answer(() => sseResponse([`event: echo x-api-key=${KEY}\ndata: {"type":"ping"}\n\n`, ...anthropicStream]))
  const { status, text } = await post('/v1/messages', { model: 'ant:m', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  expect(upstream.calls.length).toBe(1)
  expect({ status, leaked: text.includes(KEY), stopped: text.includes(ECHOED) }).toEqual({ status: 200, leaked: false, stopped: true })
})

test('chat stream: an event named after the Authorization the gateway sent is not relayed with that key', async () => {
  const KEY = scriptedProviders(upstream).plain.api_key
  const chunk = { id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hello' } }] }
  const usage = { id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }
  upstream.answer(() => sseResponse([`event: authorization=Bearer ${KEY}\n` + openAIEvent(chunk), openAIEvent(usage), 'data: [DONE]\n\n']))
  const { status, text } = await post('/v1/chat/completions', { model: 'plain:m', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  expect({ status, leaked: text.includes(KEY), stopped: text.includes(ECHOED) }).toEqual({ status: 200, leaked: false, stopped: true })
})

test('Messages stream: a first `event:` line quoting the x-api-key, overridden by a second, is not relayed', async () => {
  const KEY = scriptedProviders(upstream).ant.api_key
  upstream.answer(() => sseResponse([`event: echo x-api-key=${KEY}\nevent: ping\ndata: {"type":"ping"}\n\n`, ...anthropicStream]))
  const { status, text } = await post('/v1/messages', { model: 'ant:m', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  expect(upstream.calls.length).toBe(1)
  expect({ status, leaked: text.includes(KEY), ping: text.includes('event: ping\ndata: {"type":"ping"}\n\n') }).toEqual({ status: 200, leaked: false, ping: true })
})

test('chat stream: a first `event:` line quoting the Authorization, overridden by a second, is not relayed', async () => {
  const KEY = scriptedProviders(upstream).plain.api_key
  const chunk = { id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'hello' } }] }
  const usage = { id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }
  upstream.answer(() => sseResponse([`event: authorization=Bearer ${KEY}\nevent: message\n` + openAIEvent(chunk), openAIEvent(usage), 'data: [DONE]\n\n']))
  const { status, text } = await post('/v1/chat/completions', { model: 'plain:m', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] })
  expect({ status, leaked: text.includes(KEY), hello: text.includes('hello') }).toEqual({ status: 200, leaked: false, hello: true })
})
