import { describe, expect, test } from 'bun:test'
import { estimateMessages } from '../src/budget/estimate'
import { convertedText } from '../src/translate/convert-stream'
import { ChunksToResponseEvents } from '../src/translate/responses/chunks-to-response-events'
import { completionToResponse } from '../src/translate/responses/completion-to-response'
import { FunctionNames } from '../src/translate/responses/function-names'
import { MessageEventsToResponseEvents } from '../src/translate/responses/message-events-to-response-events'
import { messageToResponse } from '../src/translate/responses/message-to-response'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { requestEcho } from '../src/translate/responses/response-object'
import type { SseEvent } from '../src/translate/sse'

/**
 * README "Translation to Anthropic": a Responses `namespace` tool (Codex's MCP servers, the Agents SDK's
 * `toolNamespace`) groups client functions, called by name and namespace. A target without namespaces (Anthropic,
 * chat completions) is offered each as a function of its own under a name Anthropic takes (`^[a-zA-Z0-9_-]{1,128}$`),
 * unique among the functions offered; its calls come back to the client as `function_call`s with `name` and
 * `namespace`, in JSON and streamed, and go to the target again under the flat name when the client sends them back.
 */
const o = { defaultMaxOutputTokens: 1000 }
const TOPIC = { type: 'object', properties: { topic: { type: 'string' } } }
const FACTS = {
  type: 'namespace',
  name: 'mcp__facts',
  description: 'Tools of the facts MCP server',
  tools: [{ type: 'function', name: 'lookup_fact', description: 'Look up a fact', parameters: TOPIC }, { type: 'custom', name: 'raw' }],
}
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/
const sse = (data: unknown): SseEvent => {
  const text = JSON.stringify(data)
  return { event: null, data: text, raw: `data: ${text}` }
}
/** The items of the `response.output_item.added` and `.done` events in a converted stream. */
const streamedItems = (out: string) =>
  [...out.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!)).filter((e) => e.type?.startsWith('response.output_item.')).map((e) => e.item)

describe('Responses → Anthropic', () => {
  test('a namespace\'s functions are offered as functions of their own; its custom tools are dropped', () => {
    const { request, dropped } = responsesRequestToMessages({ input: 'a fact?', tools: [{ type: 'function', name: 'f', parameters: TOPIC }, FACTS] }, o)
    expect(request.tools).toEqual([
      { name: 'f', input_schema: TOPIC },
      { name: 'mcp__facts__lookup_fact', description: 'Look up a fact', input_schema: TOPIC },
    ])
    expect(dropped).toEqual(['custom'])
  })

  test('a namespaced call in the input goes back under the flat name', () => {
    const { request } = responsesRequestToMessages({
      tools: [FACTS],
      input: [
        { role: 'user', content: 'a fact?' },
        { type: 'function_call', call_id: 'toolu_1', name: 'lookup_fact', namespace: 'mcp__facts', arguments: '{"topic":"fruit"}' },
        { type: 'function_call_output', call_id: 'toolu_1', output: 'pomegranate' },
      ],
    }, o)
    expect(request.messages[1].content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'mcp__facts__lookup_fact', input: { topic: 'fruit' } }])
  })

  test('Claude\'s call of one comes back with its name and namespace, as JSON and streamed', () => {
    const { names } = responsesRequestToMessages({ input: 'a fact?', tools: [FACTS] }, o)
    const echo = requestEcho({ tools: [FACTS] })
    const use = { type: 'tool_use', id: 'toolu_1', name: 'mcp__facts__lookup_fact', input: { topic: 'fruit' } }
    const message = { id: 'msg_1', model: 'claude', content: [use], stop_reason: 'tool_use', usage: { input_tokens: 1, output_tokens: 1 } }
    const call = { type: 'function_call', call_id: 'toolu_1', name: 'lookup_fact', namespace: 'mcp__facts', arguments: '{"topic":"fruit"}' }
    const response = messageToResponse(message, echo, names)
    expect(response.output).toEqual([expect.objectContaining(call)])
    expect(response.tools).toEqual([FACTS])

    const stream = new MessageEventsToResponseEvents(echo, names)
    const out = [
      { type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 1, output_tokens: 0 } } },
      { type: 'content_block_start', index: 0, content_block: { ...use, input: {} } },
      { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"topic":"fruit"}' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 5 } },
      { type: 'message_stop' },
    ].map((e) => convertedText(stream.push(sse(e)))).join('')
    const [added, done] = streamedItems(out)
    expect(added).toMatchObject({ type: 'function_call', name: 'lookup_fact', namespace: 'mcp__facts' })
    expect(done).toMatchObject(call)
  })

  test('a top-level function keeps its name and has no namespace', () => {
    const { names } = responsesRequestToMessages({ input: 'x', tools: [{ type: 'function', name: 'mcp__facts__lookup_fact' }, FACTS] }, o)
    expect(names.called('mcp__facts__lookup_fact')).toEqual({ name: 'mcp__facts__lookup_fact' })
  })

  test('the hold covers the namespaced functions offered', () => {
    const big = { ...FACTS, tools: [{ ...FACTS.tools[0], description: 'word '.repeat(20_000) }] }
    const without = estimateMessages(responsesRequestToMessages({ input: 'a fact?' }, o).request, { ...o, mediaPartTokens: 1000 })
    const withTools = estimateMessages(responsesRequestToMessages({ input: 'a fact?', tools: [big] }, o).request, { ...o, mediaPartTokens: 1000 })
    expect(withTools.inputTokens - without.inputTokens).toBeGreaterThan(20_000)
  })
})

describe('Responses → chat completions (responses: chat)', () => {
  test('offered as functions of their own; a call comes back with its name and namespace, as JSON and streamed', () => {
    const body = {
      tools: [FACTS],
      input: [
        { role: 'user', content: 'a fact?' },
        { type: 'function_call', call_id: 'call_0', name: 'lookup_fact', namespace: 'mcp__facts', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_0', output: 'none' },
      ],
    }
    const { request, names } = responsesRequestToChat(body, { outputCapField: 'max_tokens' })
    expect(request.tools.map((t: any) => t.function.name)).toEqual(['mcp__facts__lookup_fact'])
    expect(request.messages[1].tool_calls[0].function.name).toBe('mcp__facts__lookup_fact')

    const echo = requestEcho(body)
    const toolCall = { id: 'call_1', type: 'function', function: { name: 'mcp__facts__lookup_fact', arguments: '{"topic":"fruit"}' } }
    const completion = { id: 'c1', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [toolCall] }, finish_reason: 'tool_calls' }] }
    expect(completionToResponse(completion, echo, names).output).toEqual([expect.objectContaining({ type: 'function_call', name: 'lookup_fact', namespace: 'mcp__facts' })])

    const stream = new ChunksToResponseEvents(echo, names)
    const out = [
      sse({ id: 'c1', model: 'm', choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] } }] }),
      sse({ id: 'c1', model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
      { event: null, data: '[DONE]', raw: 'data: [DONE]' },
    ].map((e) => convertedText(stream.push(e))).join('')
    expect(streamedItems(out).at(-1)).toMatchObject({ type: 'function_call', name: 'lookup_fact', namespace: 'mcp__facts', arguments: '{"topic":"fruit"}' })
  })
})

describe('the names offered', () => {
  test('within Anthropic\'s rule and unique, whatever the namespace and function are called; each maps back', () => {
    const names = new FunctionNames(['crm__find'])
    const cases: Array<[string, string]> = [['crm', 'find'], ['crm.v2', 'find'], ['n'.repeat(100), 'f'.repeat(100)], ['ns', 'ünïcode'], ['crm.v2', 'find!']]
    const offered = cases.map(([namespace, name]) => names.offer(namespace, name))
    for (const name of offered) expect(name).toMatch(TOOL_NAME)
    expect(new Set([...offered, 'crm__find']).size).toBe(cases.length + 1)
    cases.forEach(([namespace, name], i) => {
      expect(names.called(offered[i]!)).toEqual({ name, namespace })
      expect(names.sentName({ name, namespace })).toBe(offered[i]!)
    })
  })
})
