import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, sseResponse, startScriptedUpstream, scriptedProviders, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { openAIUsage } from '../src/translate/usage'

/**
 * Anthropic splits the cache writes by lifetime (`usage.cache_creation.{ephemeral_5m_input_tokens,
 * ephemeral_1h_input_tokens}`) only where it states them whole: in a stream, only `message_start` does. A
 * `message_delta`'s `cache_creation_input_tokens` is "the cumulative number of input tokens used to create the cache
 * entry" (@anthropic-ai/sdk MessageDeltaUsage), without a split, and in a server tool loop (web search) it grows past
 * message_start's, as its `input_tokens` does. The split covers only what it counts: the writes past it are billed at
 * the longest lifetime the request asked for (README, "Cache writes are never refused"), not at the 5-minute rate;
 * an iteration that does not split its writes is the same; and a split is never worth more than the total it
 * leaves at 0 (1,000 one-hour writes beside `cache_creation_input_tokens: 0` were billed $0).
 * Rates: input 1 µ$ a token, output 2, a 5-minute write 1.25, a 1-hour write 2, a search $0.01.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, cache_write_per_million: 1.25, cache_write_1h_per_million: 2, server_tools: { web_search: 0.01 } } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'cache-split', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const SEARCH = 10_000

/** A request that marks its prompt for the 1-hour cache and offers one search. */
async function settledMessage(stream: boolean, ttl: '5m' | '1h' = '1h') {
  return settledRow(gw, 'cache-split', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: 'ant:m', max_tokens: 1_000, stream,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is new in Bun?', cache_control: { type: 'ephemeral', ttl } }] }],
      }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

const message = (usage: Record<string, unknown>) => ({
  id: 'msg_1', type: 'message', role: 'assistant', model: 'm', stop_reason: 'end_turn', stop_sequence: null,
  content: [{ type: 'text', text: 'Bun 1.4 is out.' }], usage,
})

describe('cache writes the split by lifetime does not cover', () => {
  test('a stream: the writes message_delta adds past message_start\'s 1-hour split are billed at the 1-hour rate asked for', async () => {
    const firstPassWrites = 2_000
    const allWrites = 6_000
    upstream.answer(() =>
      sseResponse([
        anthropicEvent({
          type: 'message_start',
          message: {
            ...message({
              input_tokens: 100, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: firstPassWrites,
              cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: firstPassWrites }, service_tier: 'standard',
            }),
            content: [], stop_reason: null,
          },
        }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query":"bun release"}' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] } }),
        anthropicEvent({ type: 'content_block_stop', index: 1 }),
        anthropicEvent({ type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Bun 1.4 is out.' } }),
        anthropicEvent({ type: 'content_block_stop', index: 2 }),
        // Cumulative over both passes of the loop: the second pass wrote 4,000 more tokens to the cache.
        anthropicEvent({
          type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { input_tokens: 300, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: allWrites, server_tool_use: { web_search_requests: 1 } },
        }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    const row = await settledMessage(true)
    expect(row.status).toBe('ok')
    // 300 input + 6,000 one-hour writes + 50 output + one search; the 4,000 unsplit writes at the 5-minute rate gave 19,400.
    expect(row.cost).toBe(300 + allWrites * 2 + 50 * 2 + SEARCH)
  })

  test('a JSON answer: an iteration that does not split its writes has them billed at the 1-hour rate asked for', async () => {
    upstream.answer(() =>
      jsonResponse(message({
        input_tokens: 300, output_tokens: 50, cache_read_input_tokens: 0, cache_creation_input_tokens: 1_000,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000 },
        server_tool_use: { web_search_requests: 1 },
        iterations: [
          { type: 'message', input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 1_000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000 } },
          { type: 'message', input_tokens: 200, output_tokens: 30, cache_creation_input_tokens: 3_000 },
        ],
      })),
    )
    const row = await settledMessage(false)
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(300 + 4_000 * 2 + 50 * 2 + SEARCH)
  })

  test('a JSON answer: a split beside a total of 0, or none, is billed whole, each part at its own rate', async () => {
    const split = { ephemeral_5m_input_tokens: 400, ephemeral_1h_input_tokens: 1_000 }
    for (const total of [{ cache_creation_input_tokens: 0 }, {}]) {
      upstream.answer(() => jsonResponse(message({ input_tokens: 300, output_tokens: 50, ...total, cache_creation: split })))
      const row = await settledMessage(false)
      expect(row.status).toBe('ok')
      expect(gw.query<{ prompt_tokens: number }>('SELECT prompt_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!.prompt_tokens).toBe(300 + 1_400)
      // The usage counts no search.
      expect(row.cost).toBe(300 + 400 * 1.25 + 1_000 * 2 + 50 * 2)
    }
  })

  test('a split that covers every write is billed as it says, whatever the request asked for', async () => {
    upstream.answer(() =>
      jsonResponse(message({ input_tokens: 300, output_tokens: 50, cache_creation_input_tokens: 1_400, cache_creation: { ephemeral_5m_input_tokens: 400, ephemeral_1h_input_tokens: 1_000 } })),
    )
    const row = await settledMessage(false, '5m')
    expect(row.cost).toBe(300 + 400 * 1.25 + 1_000 * 2 + 50 * 2)
  })
})

test('a LiteLLM chat usage: the writes are at least its split\'s two parts, and the split is carried whole', () => {
  const usage = (total: number) => openAIUsage({ prompt_tokens: 100, completion_tokens: 10, cache_creation_input_tokens: total, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 1_000 } })
  expect(usage(0)).toMatchObject({ promptTokens: 1_000, cacheWriteTokens: 1_000, cacheWrite5mTokens: 0, cacheWrite1hTokens: 1_000 })
  expect(usage(3_000)).toMatchObject({ promptTokens: 3_000, cacheWriteTokens: 3_000, cacheWrite5mTokens: 0, cacheWrite1hTokens: 1_000 })
})
