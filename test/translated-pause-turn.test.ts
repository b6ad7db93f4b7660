import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Anthropic pauses a long server-tool loop (web search, web fetch) with `stop_reason: "pause_turn"`: the turn is not
 * over, and the client is to send the answer back to let Claude go on. Translated, a chat client was told
 * `finish_reason: "stop"` and a Responses client `status: "completed"`, so both took the half-done answer for the
 * final one. Each is now told what its format says of an answer that stopped short, the only values its clients
 * know (OpenAI's enums are closed; typed clients refuse another): chat `length`, Responses `incomplete` with
 * `incomplete_details.reason` `max_output_tokens`. The README records the choice.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI
let stop: () => Promise<void>
beforeAll(async () => {
  let secret: string
  ;({ upstream, gw, secret, stop } = await scriptedGateway('pause-turn'))
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())

const TEXT = 'Let me search for that.'
const usage = { input_tokens: 20, output_tokens: 9, server_tool_use: { web_search_requests: 0 } }

const pausedMessage = () =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: TEXT }], stop_reason: 'pause_turn', stop_sequence: null, usage })

const pausedStream = () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: TEXT } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'pause_turn', stop_sequence: null }, usage: { output_tokens: 9 } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const question = 'What happened in the news today?'

describe('a chat client is told a paused turn stopped short: finish_reason length', () => {
  test('JSON', async () => {
    upstream.answer(pausedMessage)
    const completion = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 1000, messages: [{ role: 'user', content: question }] })
    expect({ finish: completion.choices[0]!.finish_reason, text: completion.choices[0]!.message.content }).toEqual({ finish: 'length', text: TEXT })
  })

  test('streamed', async () => {
    upstream.answer(pausedStream)
    const stream = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: question }] })
    let text = ''
    const finishes: unknown[] = []
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ''
      if (chunk.choices[0]?.finish_reason) finishes.push(chunk.choices[0].finish_reason)
    }
    expect({ finishes, text }).toEqual({ finishes: ['length'], text: TEXT })
  })
})

describe('a Responses client is told a paused turn is incomplete', () => {
  test('JSON', async () => {
    upstream.answer(pausedMessage)
    const response = await openai.responses.create({ model: 'ant:m', max_output_tokens: 1000, store: false, input: question })
    expect({ status: response.status, details: response.incomplete_details, text: response.output_text }).toEqual({
      status: 'incomplete',
      details: { reason: 'max_output_tokens' },
      text: TEXT,
    })
  })

  test('streamed: the stream ends with response.incomplete', async () => {
    upstream.answer(pausedStream)
    const stream = openai.responses.stream({ model: 'ant:m', max_output_tokens: 1000, store: false, input: question })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    const response = await stream.finalResponse()
    expect({ last: types.at(-1), status: response.status, details: response.incomplete_details, text: response.output_text }).toEqual({
      last: 'response.incomplete',
      status: 'incomplete',
      details: { reason: 'max_output_tokens' },
      text: TEXT,
    })
  })
})

test('a turn that ended is still told so: end_turn is stop, completed', async () => {
  upstream.answer(() => jsonResponse({ id: 'msg_2', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage }))
  const completion = await openai.chat.completions.create({ model: 'ant:m', max_tokens: 1000, messages: [{ role: 'user', content: question }] })
  const response = await openai.responses.create({ model: 'ant:m', max_output_tokens: 1000, store: false, input: question })
  expect({ finish: completion.choices[0]!.finish_reason, status: response.status, details: response.incomplete_details }).toEqual({ finish: 'stop', status: 'completed', details: null })
})
