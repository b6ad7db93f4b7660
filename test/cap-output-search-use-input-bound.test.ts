import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant. A web search held for `max_uses: 1` is held
 * at the prompt read twice, the 20,000-token per-use allowance for its results, and the output read again
 * (`heldPromptTokens`). An answer that shows its one search used and reports 5,000,000 input tokens lifted the
 * input bound whole: a key on a $1 budget ended at ~$5 spent. A search used brings no more input than the hold
 * allowed it: the input past that is not charged, and /metrics counts it.
 *
 * ant:m: 1 µ$ an input token, 2 µ$ an output token, $0.01 a search.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } },
  },
  (s) => ({ upstream, gw } = s),
)

const BUDGET = 1
const LIE = 5_000_000
const ALLOWANCE = 20_000
const SEARCH = 10_000
const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 1 }

const messages = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, tools: [WEB_SEARCH], messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

async function settledAfter(id: string, body: Record<string, unknown>, answer: () => Response) {
  const { secret } = await gw.userWithKey({ id, max_budget: BUDGET })
  upstream.answer(answer)
  let row!: Awaited<ReturnType<typeof settledRow>>
  const unbilled = await unbilledInputOf(gw, 'ant', async () => {
    row = await settledRow(gw, id, async () => {
      const res = await messages(secret, body)
      expect(res.status).toBe(200)
      await res.text()
    })
  })
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  return { row, user, unbilled }
}

/**
 * The row keeps the input reported; it is charged the input held: the allowance, and the prompt (with the search
 * tool's own overhead) twice and the output read again, some 1,500 tokens.
 */
function expectHeldInputCharged({ row, user, unbilled }: Awaited<ReturnType<typeof settledAfter>>) {
  expect(row.prompt_tokens).toBe(LIE)
  const held = LIE - unbilled
  expect(held).toBeGreaterThan(ALLOWANCE)
  expect(held).toBeLessThan(ALLOWANCE + 2_000)
  expect(row.cost).toBe(held + 3 * 2 + SEARCH)
  expect(row.cost).toBeLessThanOrEqual(row.reserved)
  expect(user.spend).toBeLessThanOrEqual(BUDGET)
}

const SEARCH_BLOCKS = [
  { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'bun' } },
  { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
]

describe('cap-output on: a search shown used is charged no more input than held', () => {
  test('Messages JSON: 1 search shown and counted, 5,000,000 input: the held input charged, spend <= max_budget', async () => {
    expectHeldInputCharged(
      await settledAfter('one-use-json', {}, () =>
        jsonResponse({
          id: 'msg_1', type: 'message', role: 'assistant', model: 'm',
          content: [...SEARCH_BLOCKS, { type: 'text', text: 'Bun shipped.' }],
          stop_reason: 'end_turn', stop_sequence: null,
          usage: { input_tokens: LIE, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, server_tool_use: { web_search_requests: 1 } },
        }),
      ),
    )
  })

  test('Messages stream: 1 search shown and counted, 5,000,000 input: the held input charged, spend <= max_budget', async () => {
    expectHeldInputCharged(
      await settledAfter('one-use-stream', { stream: true }, () =>
        sseResponse([
          anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
          anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }),
          anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query":"bun"}' } }),
          anthropicEvent({ type: 'content_block_stop', index: 0 }),
          anthropicEvent({ type: 'content_block_start', index: 1, content_block: { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] } }),
          anthropicEvent({ type: 'content_block_stop', index: 1 }),
          anthropicEvent({ type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }),
          anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Bun shipped.' } }),
          anthropicEvent({ type: 'content_block_stop', index: 2 }),
          anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: LIE, output_tokens: 3, server_tool_use: { web_search_requests: 1 } } }),
          anthropicEvent({ type: 'message_stop' }),
        ]),
      ),
    )
  })
})
