import { afterAll, beforeAll, expect, test } from 'bun:test'
import { jsonResponse, postResponses, scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Responses → Claude, namespace tools (src/translate/responses/function-names.ts). Namespaced functions were keyed
 * (and their hashed names hashed) by `${namespace}\u0000${name}`: namespace "a\u0000b" function "c" and namespace "a"
 * function "b\u0000c" (JSON strings may hold U+0000; the names are the client's and its MCP servers') shared one key,
 * so both were offered under one name and a call of the second came back to the client as a call of the first. Each
 * is offered under a name of its own, and a call comes back with its function's own name and namespace.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('namespace-name-collision'))
})
afterAll(() => stop())

const SCHEMA = { type: 'object', properties: { path: { type: 'string' } } }
const tools = [
  { type: 'namespace', name: 'a\u0000b', description: 'read-only', tools: [{ type: 'function', name: 'c', description: 'Read a file', parameters: SCHEMA }] },
  { type: 'namespace', name: 'a', description: 'destructive', tools: [{ type: 'function', name: 'b\u0000c', description: 'Delete a file', parameters: SCHEMA }] },
]

test('two namespaced functions whose name and namespace join alike are offered under two names, each call mapped to its own', async () => {
  // Claude calls the function offered second (the destructive one), by the name it was offered under.
  upstream.answer((call) => {
    const second = call.body.tools?.[1]?.name
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', stop_reason: 'tool_use', stop_sequence: null,
      content: [{ type: 'tool_use', id: 'toolu_1', name: second, input: { path: '/tmp/x' } }],
      usage: { input_tokens: 10, output_tokens: 5 },
    })
  })
  const res = await postResponses(gw, secret, { model: 'ant:m', input: 'delete /tmp/x', tools, store: false })
  expect(res.status).toBe(200)
  const offered = (upstream.calls[0]?.body.tools ?? []).map((t: any) => t.name)
  expect(offered).toHaveLength(2)
  expect(new Set(offered).size).toBe(2)
  const body = (await res.json()) as any
  const call = body.output.find((item: any) => item.type === 'function_call')
  expect({ name: call?.name, namespace: call?.namespace }).toEqual({ name: 'b\u0000c', namespace: 'a' })
})
