/**
 * Responses → Anthropic: a tool loop is one assistant turn in one thinking mode. With thinking on, Anthropic
 * refuses a request whose last tool results answer an assistant turn that does not start with a thinking block
 * (400 "… To avoid this requirement, disable `thinking`"). The translation decided thinking from `reasoning` and
 * `tool_choice` alone, so after a turn it sent without thinking (a forced tool; the Agents SDK then resets
 * tool_choice to auto), or a handoff from an agent without reasoning, every next request was refused. Such a
 * request now goes without thinking; a turn that did think keeps it, and so does a new question after the loop.
 * (test/clients/openai-agents-thinking-after-unthought-tool-use.test.ts runs the Agents SDK itself.)
 */
import { expect, test } from 'bun:test'
import { carryThinking } from '../src/translate/responses/reasoning-carrier'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'

const call = { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }
const output = { type: 'function_call_output', call_id: 'call_1', output: 'sunny' }
const thought = { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: carryThinking({ type: 'thinking', thinking: 'Let me look.', signature: 'sig' }) }
const question = { role: 'user', content: 'Weather in Paris?' }

const translated = (input: unknown[], model = 'claude-sonnet-4-5', extra: Record<string, unknown> = {}) =>
  responsesRequestToMessages({ input, reasoning: { effort: 'high' }, tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }], ...extra }, { defaultMaxOutputTokens: 4096, upstreamModel: model }).request

test('tool results answering a turn that started without thinking: no thinking, for a budget and for adaptive alike', () => {
  for (const model of ['claude-sonnet-4-5', 'claude-opus-4-7']) {
    const request = translated([question, call, output], model, { temperature: 0.2 })
    expect(request.thinking).toBeUndefined()
    expect(request.output_config).toBeUndefined()
    expect(request.max_tokens).toBe(4096)
    // Without thinking the client's sampling settings go as they do on any request without it.
    expect(request.temperature).toBe(0.2)
  }
})

test('a tool loop whose turn started with thinking keeps it', () => {
  const request = translated([question, thought, call, output])
  expect(request.messages[1].content[0]).toMatchObject({ type: 'thinking', signature: 'sig' })
  expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
})

test('a new question after a loop without thinking gets thinking again: a new assistant turn starts', () => {
  const request = translated([question, call, output, { role: 'assistant', content: [{ type: 'output_text', text: 'Sunny.' }] }, { role: 'user', content: 'And in Rome?' }])
  expect(request.thinking).toEqual({ type: 'enabled', budget_tokens: 16384 })
})
