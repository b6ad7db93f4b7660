/**
 * A client's history carries a tool call to a tool without parameters as Ollama writes it (`"arguments": "null"`,
 * Go's json.Marshal of a nil map). Sent on to Claude, a `tool_use.input` of null is refused ("Input should be a
 * valid dictionary", anthropics/claude-code#6696); the gateway sends `{}`, as it gives a client such a call
 * (test/no-argument-tool-call-input.test.ts). Arguments that are no JSON stay the client's error, naming the field.
 */
import { expect, test } from 'bun:test'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { GatewayError } from '../src/http/errors'

const chat = (args: string) => chatRequestToMessages({
  model: 'claude',
  messages: [
    { role: 'user', content: 'What time is it?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'now', arguments: args } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
  ],
}, { defaultMaxOutputTokens: 1024 } as never)

const responses = (args: string) => responsesRequestToMessages({
  model: 'claude',
  input: [
    { role: 'user', content: 'What time is it?' },
    { type: 'function_call', call_id: 'call_1', name: 'now', arguments: args },
    { type: 'function_call_output', call_id: 'call_1', output: '12:00' },
  ],
}, { defaultMaxOutputTokens: 1024 } as never).request

const toolUse = (body: { messages: Array<{ content: Array<Record<string, unknown>> }> }) =>
  body.messages.flatMap((m) => m.content).find((b) => b.type === 'tool_use')

test('chat history: a call arguing "null" goes to Claude with input {}, a JSON object as it is', () => {
  expect(toolUse(chat('null') as never)?.input).toEqual({})
  expect(toolUse(chat(' null ') as never)?.input).toEqual({})
  expect(toolUse(chat('{"tz":"UTC"}') as never)?.input).toEqual({ tz: 'UTC' })
  expect(toolUse(chat('') as never)?.input).toEqual({})
})

test('Responses history: a call arguing "null" goes to Claude with input {}', () => {
  expect(toolUse(responses('null') as never)?.input).toEqual({})
  expect(toolUse(responses('{"tz":"UTC"}') as never)?.input).toEqual({ tz: 'UTC' })
})

test('arguments that are no JSON are refused, naming the field', () => {
  expect(() => chat('{not json')).toThrow(GatewayError)
  expect(() => chat('{not json')).toThrow(/messages\[1\]\.tool_calls\[0\]\.function\.arguments/)
  expect(() => responses('{not json')).toThrow(/input\[1\]\.arguments/)
})
