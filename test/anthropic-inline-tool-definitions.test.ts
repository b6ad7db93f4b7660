import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Anthropic tools defined in the conversation (the `inline-tools-…` beta): a `tool_addition` block carrying
 * `{type: "tool_definition", definition}` offers `definition`, the same object a `tools` entry holds, from that point
 * on; it may stand in a message's content, in `system`, and in a compaction block's `tool_changes`. Each is priced,
 * bounded and refused as one in `tools` is (SPEC §5): a server tool with no price is refused 402 before any upstream
 * call, a priced one is sent with the default `max_uses`, and the advisor tool is refused 400.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'inline-tools'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      server_tool_default_max_uses: 3,
      server_tool_use_input_tokens: 1000,
      pricing: {
        'ant:bare': { input_per_million: 1, output_per_million: 2 },
        'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_inline', type: 'message', role: 'assistant', model: 'm', stop_reason: 'end_turn', stop_sequence: null,
      content: [{ type: 'text', text: 'done' }],
      usage: { input_tokens: 50, output_tokens: 10, server_tool_use: { web_search_requests: 2, web_fetch_requests: 0 } },
    }),
  )
})

const addition = (definition: Record<string, unknown>) => ({ type: 'tool_addition', tool: { type: 'tool_definition', definition } })

const post = async (model: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'inline-tools-2026-09-15' },
    body: JSON.stringify({ model, max_tokens: 100, ...body }),
  })
  return { status: res.status, text: await res.text() }
}

const offeredInMessage = (model: string, definition: Record<string, unknown>) =>
  post(model, { messages: [{ role: 'user', content: [{ type: 'text', text: 'what happened today?' }, addition(definition)] }] })

test('an inline web search on a model with no web search price is refused 402 before the provider is called', async () => {
  const { status, text } = await offeredInMessage('ant:bare', { type: 'web_search_20250305', name: 'web_search' })
  expect({ status, upstreamCalls: upstream.calls.length }).toEqual({ status: 402, upstreamCalls: 0 })
  expect(JSON.parse(text).error).toMatchObject({ type: 'billing_error', message: expect.stringContaining('web_search') })
})

test('an inline web search on a priced model goes out with the default max_uses, as one in tools does', async () => {
  const { status } = await offeredInMessage('ant:m', { type: 'web_search_20250305', name: 'web_search' })
  expect(status).toBe(200)
  expect(upstream.calls[0]!.body.messages[0].content[1]).toEqual(addition({ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }))
})

test('an inline web fetch goes out with the default max_uses and max_content_tokens', async () => {
  const { status } = await offeredInMessage('ant:bare', { type: 'web_fetch_20250910', name: 'web_fetch' })
  expect(status).toBe(200)
  expect(upstream.calls[0]!.body.messages[0].content[1].tool.definition).toEqual({ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 3, max_content_tokens: 1000 })
})

test('the advisor tool, refused in tools, is refused inline too', async () => {
  const { status, text } = await offeredInMessage('ant:m', { type: 'advisor_20260301', name: 'advisor', model: 'claude-opus-4-7' })
  expect({ status, upstreamCalls: upstream.calls.length }).toEqual({ status: 400, upstreamCalls: 0 })
  expect(text).toContain('messages[0].content[1].tool.definition')
})

test('a web search offered in system or in a compaction block\'s tool changes is priced as well', async () => {
  const search = { type: 'web_search_20250305', name: 'web_search' }
  const inSystem = await post('ant:bare', { system: [{ type: 'text', text: 'be brief' }, addition(search)], messages: [{ role: 'user', content: 'hi' }] })
  const compacted = { type: 'compaction', content: 'earlier turns', tool_changes: [addition(search)] }
  const inCompaction = await post('ant:bare', { messages: [{ role: 'user', content: [compacted, { type: 'text', text: 'go on' }] }] })
  expect({ system: inSystem.status, compaction: inCompaction.status, upstreamCalls: upstream.calls.length }).toEqual({ system: 402, compaction: 402, upstreamCalls: 0 })
})

test('a client tool defined inline goes out as the client wrote it', async () => {
  const tool = { name: 'lookup', description: 'look a word up', input_schema: { type: 'object', properties: { word: { type: 'string' } } } }
  const { status } = await offeredInMessage('ant:bare', tool)
  expect(status).toBe(200)
  expect(upstream.calls[0]!.body.messages[0].content[1]).toEqual(addition(tool))
})
