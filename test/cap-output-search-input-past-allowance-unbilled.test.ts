import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openStream, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant. A search's result pages are input the provider
 * reads, and bills, on every pass after it; the hold allows each use TOLLGATE_SERVER_TOOL_USE_INPUT_TOKENS
 * (`heldPromptTokens`). A search whose pages bring more is charged the input held, no more, as output past the max
 * sent is: the row keeps the input reported, and the excess is counted in `tollgate_unbilled_input_tokens_total`
 * (README, Server tools are bounded: an operator whose searches bring more raises the allowance).
 *
 * ant:m / plain:m: 1 µ$ an input token, 2 µ$ an output token, $0.01 a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    pricing: {
      'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
    },
  },
  (s) => ({ upstream, gw } = s),
)

const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 1 }
const SEARCH = 10_000
const ALLOWANCE = 20_000

/** Runs one request and returns its row and the input held: the input reported less the input /metrics counts unbilled. */
async function settledWithHeldInput(id: string, provider: string, run: () => Promise<void>) {
  let row!: Awaited<ReturnType<typeof settledRow>>
  const unbilled = await unbilledInputOf(gw, provider, async () => {
    row = await settledRow(gw, id, run)
  })
  const held = row.prompt_tokens - unbilled
  // The allowance for the one search, and the prompt as estimated (read again on the pass after it).
  expect(held).toBeGreaterThan(ALLOWANCE)
  expect(held).toBeLessThan(ALLOWANCE + 2_000)
  return { row, held }
}

const postMessages = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'Search the web: bun release notes' }], ...body }),
  })

describe('cap-output on: a search whose results exceed the per-use allowance is charged the input held', () => {
  test('Messages, one web search, usage of 150,000 input tokens', async () => {
    // The prompt twice, and the search's result pages (a long page: ~145k tokens).
    const INPUT = 150_000
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_ws', type: 'message', role: 'assistant', model: 'm',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'bun release notes' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://bun.sh/blog', title: 'Bun', encrypted_content: 'x'.repeat(64), page_age: null }] },
          { type: 'text', text: 'Bun shipped.' },
        ],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: INPUT, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 1 } },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'ws-messages', max_budget: 1 })
    const { row, held } = await settledWithHeldInput('ws-messages', 'ant', async () => {
      const res = await postMessages(secret, {})
      expect(res.status, await res.text()).toBe(200)
    })
    expect(row.prompt_tokens).toBe(INPUT)
    expect(row.cost).toBe(held * 1 + 30 * 2 + SEARCH)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })

  test("Responses, one web search, its search content tokens in the usage's 100,000 input tokens", async () => {
    // OpenAI bills a search's content tokens as input at the model's rates (gpt-5, the o-series), in `input_tokens`.
    const INPUT = 100_000
    upstream.answer(() =>
      jsonResponse({
        id: 'resp_ws', object: 'response', created_at: 1, status: 'completed', model: 'm',
        output: [
          { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'bun release notes' } },
          { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Bun shipped.', annotations: [] }] },
        ],
        usage: { input_tokens: INPUT, input_tokens_details: { cached_tokens: 0 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: INPUT + 30 },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'ws-responses', max_budget: 1 })
    const { row, held } = await settledWithHeldInput('ws-responses', 'plain', async () => {
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', store: false, max_output_tokens: 64, max_tool_calls: 1, tools: [{ type: 'web_search' }], input: 'Search the web: bun release notes' }),
      })
      expect(res.status, await res.text()).toBe(200)
    })
    expect(row.prompt_tokens).toBe(INPUT)
    expect(row.cost).toBe(held * 1 + 30 * 2 + SEARCH)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })

  test('a Messages stream cut after its search pays the input message_start stated, up to the input held', async () => {
    const INPUT = 150_000
    upstream.answer(
      openStream([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: INPUT, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Found it' } }),
      ]),
    )
    const { secret } = await gw.userWithKey({ id: 'ws-cut', max_budget: 1 })
    const { row, held } = await settledWithHeldInput('ws-cut', 'ant', async () => {
      const res = await postMessages(secret, { stream: true })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      let text = ''
      while (!text.includes('Found it')) text += new TextDecoder().decode((await reader.read()).value)
      await reader.cancel()
    })
    expect(row.status).toBe('aborted')
    expect(row.prompt_tokens).toBe(INPUT)
    // The input held, the search begun, and the output delivered (the search's call and the text).
    expect(row.cost).toBe(held * 1 + SEARCH + row.completion_tokens * 2)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })
})

