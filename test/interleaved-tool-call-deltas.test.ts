import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { ChunksToMessageEvents } from '../src/translate/chunks-to-message-events'
import { SseParser, type SseEvent } from '../src/translate/sse'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

setDefaultTimeout(30_000)

/**
 * Parallel tool calls whose argument deltas interleave (both calls opened first, their arguments after, as an
 * OpenAI-compatible server may stream them: OpenAI numbers each fragment by `index` for this reason). Translated for
 * `/v1/messages`, the first `tool_use` block was closed (`content_block_stop`) when the second opened, and its
 * arguments then arrived as `input_json_delta`s to a block already stopped. An Anthropic stream never does that:
 * `content_block_stop` says the block is complete, and the SDK's `contentBlock` event (what a client that runs
 * each tool as soon as its call is complete listens to) handed over the first call with input `{}`.
 * A tool_use block now stays open until its input is whole, the other calls' fragments waiting for their block.
 */
let upstream: ScriptedUpstream
let stop: () => Promise<void>
let anthropic: Anthropic

beforeAll(async () => {
  const started = await scriptedGateway('interleaved-tool-call-deltas')
  ;({ upstream, stop } = started)
  anthropic = new Anthropic({ baseURL: started.gw.url, apiKey: started.secret, maxRetries: 0 })
})
afterAll(() => stop())

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const delta = (d: unknown, finish: string | null = null) => ({ ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] })
const call = (index: number, rest: Record<string, unknown>) => ({ tool_calls: [{ index, ...rest }] })
const opened = (index: number, id: string) => call(index, { id, type: 'function', function: { name: 'get_weather', arguments: '' } })
const args = (index: number, text: string) => call(index, { function: { arguments: text } })

test('interleaved argument deltas of two tool calls: each block complete at its content_block_stop', async () => {
  upstream.answer(() =>
    sseResponse([
      openAIEvent(delta({ role: 'assistant', ...opened(0, 'call_a') })),
      openAIEvent(delta(opened(1, 'call_b'))),
      openAIEvent(delta(args(0, '{"city":'))),
      openAIEvent(delta(args(1, '{"city":'))),
      openAIEvent(delta(args(0, '"Paris"}'))),
      openAIEvent(delta(args(1, '"Lyon"}'))),
      openAIEvent(delta({}, 'tool_calls')),
      openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const stream = anthropic.messages.stream({
    model: 'plain:m',
    max_tokens: 200,
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'Weather in Paris and Lyon?' }],
  })
  const completed: unknown[] = []
  stream.on('contentBlock', (block) => completed.push(block.type === 'tool_use' ? { id: block.id, input: block.input } : block.type))
  const stopped = new Set<number>()
  const afterStop: unknown[] = []
  stream.on('streamEvent', (event) => {
    if (event.type === 'content_block_stop') stopped.add(event.index)
    if (event.type === 'content_block_delta' && stopped.has(event.index)) afterStop.push(event)
  })
  const message = await stream.finalMessage()
  // The final snapshot was right either way; what a client sees block by block was not.
  expect(message.content.map((b: any) => b.input)).toEqual([{ city: 'Paris' }, { city: 'Lyon' }])
  expect(completed).toEqual([{ id: 'call_a', input: { city: 'Paris' } }, { id: 'call_b', input: { city: 'Lyon' } }])
  expect(afterStop).toEqual([])
})

const sse = (payload: unknown): SseEvent => {
  const data = JSON.stringify(payload)
  return { event: null, data, raw: `data: ${data}` }
}
const events = (text: string) => {
  const parser = new SseParser()
  return parser.push(new TextEncoder().encode(text)).concat(parser.end()).map((e) => JSON.parse(e.data))
}

test('calls streamed one after the other (OpenAI\'s) are streamed as they come, each fragment at once', () => {
  const c = new ChunksToMessageEvents()
  const at = (d: unknown) => events(c.push(sse(delta(d))))
  at({ role: 'assistant', ...opened(0, 'call_a') })
  expect(at(args(0, '{"city":'))).toEqual([{ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":' } }])
  expect(at(args(0, '"Paris"}'))).toEqual([{ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }])
  expect(at(opened(1, 'call_b')).map((e) => e.type)).toEqual(['content_block_stop', 'content_block_start'])
  expect(at(args(1, '{"city":'))).toEqual([{ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }])
})

test('three calls interleaved round-robin: no delta after its block stopped, each block\'s input whole and its own', () => {
  const c = new ChunksToMessageEvents()
  let out = c.push(sse(delta({ role: 'assistant' })))
  for (const i of [0, 1, 2]) out += c.push(sse(delta(opened(i, `call_${i}`))))
  const pieces = (i: number) => ['{"city":', '"Town', ` ${i}"`, '}']
  for (let n = 0; n < 4; n++) for (const i of [0, 1, 2]) out += c.push(sse(delta(args(i, pieces(i)[n]!))))
  out += c.push(sse(delta({}, 'tool_calls'))) + c.push({ event: null, data: '[DONE]', raw: 'data: [DONE]' })
  const stopped = new Set<number>()
  const inputs: string[] = []
  for (const e of events(out)) {
    if (e.type === 'content_block_start') inputs[e.index] = ''
    if (e.type === 'content_block_delta') {
      expect(stopped.has(e.index)).toBe(false)
      inputs[e.index] += e.delta.partial_json
    }
    if (e.type === 'content_block_stop') stopped.add(e.index)
  }
  expect(inputs.map((text) => JSON.parse(text))).toEqual([{ city: 'Town 0' }, { city: 'Town 1' }, { city: 'Town 2' }])
  expect(stopped).toEqual(new Set([0, 1, 2]))
})
