import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant, and a request of text alone is charged no more
 * input than held (`heldPromptTokens`: its tools' results at the per-use allowance), used or not. A server tool
 * offered and not used brought nothing; one the answer shows used brought at most what the hold allowed it; a tool
 * whose uses no answer shows (a web fetch's pages) no more. A proxy reporting 5,000,000 input tokens beside "hi" is
 * charged the input held, whichever.
 *
 * ant:m, plain:m: 1 µ$ an input token, 2 µ$ an output token, $0.01 a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: {
      'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
    },
  },
  (s) => ({ upstream, gw } = s),
)

const BUDGET = 1
const LIE = 5_000_000
const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 1 }

const messages = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

const responses = (secret: string) =>
  fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', store: false, max_output_tokens: 64, max_tool_calls: 1, tools: [{ type: 'web_search' }], input: 'hi' }),
  })

async function spendAfter(id: string, body: Record<string, unknown>, answer: () => Response, post: typeof messages = messages) {
  const { secret } = await gw.userWithKey({ id, max_budget: BUDGET })
  upstream.answer(answer)
  const row = await settledRow(gw, id, async () => {
    const res = await post(secret, body)
    expect(res.status).toBe(200)
    await res.text()
  })
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  return { row, user }
}

describe('cap-output on: a server tool offered, used or not, does not lift the input bound', () => {
  test('Messages JSON, no search made, usage input_tokens 5,000,000 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('unused-json', {}, () =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
        content: [{ type: 'text', text: 'Hello.' }],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: LIE, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 0 } },
      }),
    )
    expect(row.prompt_tokens).toBe(LIE)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('Messages stream, no search made, message_start input_tokens 5,000,000 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('unused-stream', { stream: true }, () =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: LIE, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello.' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 3, server_tool_use: { web_search_requests: 0 } } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect(row.prompt_tokens).toBe(LIE)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('Responses, no web_search_call item, usage input_tokens 5,000,000 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('unused-responses', {}, () =>
      jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
        output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello.', annotations: [] }] }],
        usage: { input_tokens: LIE, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: LIE + 3 },
      }),
    responses)
    expect(row.prompt_tokens).toBe(LIE)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('a search the answer shows but its usage does not count, 150,000 input: the input held is charged', async () => {
    const INPUT = 150_000
    const { row, user } = await spendAfter('shown-search', {}, () =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'bun' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
          { type: 'text', text: 'Bun shipped.' },
        ],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: INPUT, output_tokens: 3 },
      }),
    )
    expect(row.prompt_tokens).toBe(INPUT)
    // The search shown, and no more input than held: the search's 20,000-token allowance and the prompt, twice.
    expect(row.cost).toBeGreaterThan(20_000 + 3 * 2 + 10_000)
    expect(row.cost).toBeLessThan(22_000 + 3 * 2 + 10_000)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('a web fetch, whose uses no usage counts, 5,000,000 input for "hi": spend stays <= max_budget', async () => {
    const WEB_FETCH = { type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 1, max_content_tokens: 4_000 }
    const { row, user } = await spendAfter('web-fetch', { tools: [WEB_FETCH] }, () =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
        content: [{ type: 'text', text: 'Hello.' }],
        stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: LIE, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      }),
    )
    expect(row.prompt_tokens).toBe(LIE)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })
})
