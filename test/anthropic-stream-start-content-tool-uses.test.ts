import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A server tool use shown only in `message_start`'s `message.content` (an Anthropic-compatible server that sends the
 * message whole there, as the SDK's MessageStream takes it for its snapshot) is billed as one begun in a
 * `content_block_start`: code execution, which no usage counts, and a web search beside a usage without
 * `server_tool_use` (OpenRouter's Anthropic endpoint leaves it out). Before, the stream meter read only the blocks
 * `content_block_start` began: both streams settled at their 20 µ$ of tokens, the 2 uses shown at $0.
 * ant:m: 1 µ$ a token, $0.01 (10,000 µ$) per use of either tool.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'start-content-tool-uses'
const TOKENS = 20
const PER_USE = 10_000

withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 1, server_tools: { web_search: 0.01, code_execution: 0.01 } } } },
  async (started) => {
    ;({ upstream, gw } = started)
  },
)

const used = (id: string, name: string) => ({ type: 'server_tool_use', id, name, input: {} })
const SEARCHES = [used('srvtoolu_1', 'web_search'), used('srvtoolu_2', 'web_search')]
const EXECUTIONS = [used('srvtoolu_3', 'bash_code_execution'), used('srvtoolu_4', 'text_editor_code_execution')]

/** A stream whose `message_start` carries `content`, then a text block and a usage of 10 input and 10 output tokens. */
const startingWith = (content: unknown[]) =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content, stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: content.length, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: content.length, delta: { type: 'text_delta', text: 'ok' } }),
    anthropicEvent({ type: 'content_block_stop', index: content.length }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 10, output_tokens: 10 } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

async function streamedCost(path: string, body: Record<string, unknown>): Promise<number> {
  if (!secret) ({ secret } = await gw.userWithKey({ id: USER, max_budget: 100 }))
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, stream: true }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.status).toBe('ok')
  return row.cost
}

const ask = { model: 'ant:m', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }

test('Messages: code executions shown only in message_start are billed per execution', async () => {
  upstream.answer(() => startingWith(EXECUTIONS))
  expect(await streamedCost('/v1/messages', { ...ask, tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] })).toBe(TOKENS + 2 * PER_USE)
})

test('Messages: web searches shown only in message_start, with a usage that counts none, are billed per search', async () => {
  upstream.answer(() => startingWith(SEARCHES))
  expect(await streamedCost('/v1/messages', { ...ask, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }] })).toBe(TOKENS + 2 * PER_USE)
})

test('Responses translated to Anthropic: the same searches are billed per search', async () => {
  upstream.answer(() => startingWith(SEARCHES))
  expect(await streamedCost('/v1/responses', { model: 'ant:m', input: 'hi', tools: [{ type: 'web_search' }] })).toBe(TOKENS + 2 * PER_USE)
})

test('a code execution shown in message_start is not billed when the request did not offer the tool', async () => {
  upstream.answer(() => startingWith(EXECUTIONS))
  expect(await streamedCost('/v1/messages', { ...ask, tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }] })).toBe(TOKENS)
})

test('a use shown in message_start and again in its content_block_start is billed once', async () => {
  upstream.answer(() =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: EXECUTIONS, stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      ...EXECUTIONS.flatMap((block, index) => [anthropicEvent({ type: 'content_block_start', index, content_block: block }), anthropicEvent({ type: 'content_block_stop', index })]),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 10, output_tokens: 10 } }),
      anthropicEvent({ type: 'message_stop' }),
    ]),
  )
  expect(await streamedCost('/v1/messages', { ...ask, tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] })).toBe(TOKENS + 2 * PER_USE)
})
