/**
 * Chat → Messages stream translation (src/translate/chunks-to-message-events.ts). A text delta that arrives while a
 * tool call's arguments are still streaming (an OpenAI-compatible server whose tool parser passes the model's
 * whitespace or prose around tool-call tags on as `content`) closed the open tool_use block with the partial input it
 * had, and every later argument fragment of that call was dropped (an Anthropic block takes nothing after its stop):
 * the Anthropic SDK saw `input: {}`, or threw, while the provider billed the arguments. The text is held until the
 * call's input is whole, then sent as a text block of its own.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let stop: () => Promise<void>
let anthropic: Anthropic

beforeAll(async () => {
  const started = await scriptedGateway('text-between-fragments')
  ;({ upstream, stop } = started)
  anthropic = new Anthropic({ baseURL: started.gw.url, apiKey: started.secret, maxRetries: 0 })
})
afterAll(() => stop())

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const delta = (d: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] })
const call = (index: number, rest: Record<string, unknown>) => ({ tool_calls: [{ index, ...rest }] })

test('a content delta between two argument fragments of a tool call: the tool_use input is still whole', async () => {
  upstream.answer(() =>
    sseResponse([
      delta({ role: 'assistant', ...call(0, { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }) }),
      delta(call(0, { function: { arguments: '{"city":' } })),
      delta({ content: '\n' }),
      delta(call(0, { function: { arguments: '"Paris"}' } })),
      delta({}, 'tool_calls'),
      openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const stream = anthropic.messages.stream({
    model: 'plain:m',
    max_tokens: 200,
    tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    messages: [{ role: 'user', content: 'Weather in Paris?' }],
  })
  let message: Anthropic.Message | undefined
  let failure: unknown
  try {
    message = await stream.finalMessage()
  } catch (error) {
    failure = error
  }
  expect(String(failure ?? '')).toBe('')
  const uses = (message?.content ?? []).filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')
  expect(uses.map((b) => b.input)).toEqual([{ city: 'Paris' }])
  // The text follows the call's block, as a block of its own.
  expect(message?.content.map((b) => b.type)).toEqual(['tool_use', 'text'])
})
