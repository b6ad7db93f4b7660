/**
 * Responses → chat (a provider served through chat): only function tools are sent, hosted ones are dropped. A
 * request whose tools were all hosted went on with `parallel_tool_calls` and no `tools`, which OpenAI's chat API
 * refuses ("parallel_tool_calls is only allowed when 'tools' are specified", 400), as do servers that validate as
 * it does: the field goes only beside the tools it is about.
 */
import { expect, test } from 'bun:test'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'

const toChat = (body: Record<string, unknown>) => responsesRequestToChat({ input: 'x', ...body }, { outputCapField: 'max_tokens' }).request

test('every tool dropped (hosted only), or none sent: no parallel_tool_calls', () => {
  expect(toChat({ tools: [{ type: 'web_search' }], parallel_tool_calls: false })).not.toHaveProperty('parallel_tool_calls')
  expect(toChat({ parallel_tool_calls: true })).not.toHaveProperty('parallel_tool_calls')
})

test('beside a function tool it is kept as the client set it', () => {
  const out = toChat({ tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } }, { type: 'web_search' }], parallel_tool_calls: false })
  expect(out.tools).toHaveLength(1)
  expect(out.parallel_tool_calls).toBe(false)
})
