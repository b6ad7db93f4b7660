import { afterAll, beforeAll, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Chat → Messages stream translation (src/translate/chunks-to-message-events.ts). A server that interleaves two
 * tool calls' argument fragments keeps the second call waiting while the first one's input is incomplete. When the
 * first call's input became whole and a content delta (the model's whitespace around a tool-call tag) arrived before
 * the second call's next fragment, the text closed every block: the waiting call was opened and closed at once with
 * part of its arguments, and its later fragments dropped (an Anthropic block takes nothing after its stop), so the
 * client ran the tool on a broken input. The waiting call now gets its block and holds the text until it is whole.
 */
let upstream: ScriptedUpstream
let stop: () => Promise<void>
let anthropic: Anthropic

beforeAll(async () => {
  const started = await scriptedGateway('text-beside-waiting-tool-call')
  ;({ upstream, stop } = started)
  anthropic = new Anthropic({ baseURL: started.gw.url, apiKey: started.secret, maxRetries: 0 })
})
afterAll(() => stop())

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const delta = (d: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] })
const call = (index: number, rest: Record<string, unknown>) => ({ tool_calls: [{ index, ...rest }] })

test('interleaved calls with text after the first one completes: the second call\'s input is still whole', async () => {
  upstream.answer(() =>
    sseResponse([
      delta({ role: 'assistant', ...call(0, { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }) }),
      delta(call(1, { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"zone":' } })),
      delta(call(0, { function: { arguments: '"Paris"}' } })),
      delta({ content: '\n' }),
      delta(call(1, { function: { arguments: '"CET"}' } })),
      delta({}, 'tool_calls'),
      openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const stream = anthropic.messages.stream({
    model: 'plain:m',
    max_tokens: 200,
    tools: [
      { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'get_time', input_schema: { type: 'object', properties: { zone: { type: 'string' } } } },
    ],
    messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
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
  expect(uses.map((b) => [b.name, b.input])).toEqual([['get_weather', { city: 'Paris' }], ['get_time', { zone: 'CET' }]])
})
