import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * xAI's Agent Tools on its Responses API (`POST https://api.x.ai/v1/responses`): X Search (`tools: [{type:
 * 'x_search'}]`) runs server-side and is billed per call beyond tokens ("token usage and tool invocations",
 * $5 per 1,000 calls). It is a billed hosted tool like OpenAI's: refused 402 `pricing_required` naming it on a row
 * without `server_tools.x_search`, before any upstream call; priced, held at `max_tool_calls` and settled per call
 * the answer shows (`x_search_call` items, or `custom_tool_call` items naming an X Search function, as newer
 * answers do). Responses tools are a closed world: a type neither billed nor known to be free is refused 400.
 * Rates: $3/M input, $15/M output; 900 input and 50 output tokens cost 3,450 µ$.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const DEFAULT_MAX_USES = 3
withScriptedGateway(
  {
    server_tool_default_max_uses: DEFAULT_MAX_USES,
    pricing: {
      'plain:grok-4.7': { input_per_million: 3, output_per_million: 15 },
      'plain:grok-4': { input_per_million: 3, output_per_million: 15, server_tools: { x_search: 0.005 } },
    },
  },
  (s) => ({ upstream, gw } = s),
)

const TOKENS_COST = 3_450
const USAGE = { input_tokens: 900, input_tokens_details: { cached_tokens: 0 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 950 }
const message = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'people on X say…', annotations: [] }] }
const xSearchCall = (n: number) => ({ type: 'x_search_call', id: `xs_${n}`, call_id: '', name: 'x_semantic_search', arguments: '{"query":"tollgate"}', status: 'completed' })
const xFunctionCall = (n: number, name = 'x_keyword_search') => ({ type: 'custom_tool_call', id: `ctc_${n}`, call_id: `xs_call_${n}`, name, input: '{"query":"tollgate"}', status: 'completed' })
const response = (output: unknown[]) => ({ id: 'resp_x', object: 'response', status: 'completed', model: 'grok-4', output, usage: USAGE })

const post = async (secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json().catch(() => null)) as any }
}

test('Responses with xAI x_search on a row that prices no x_search: 402 pricing_required, the provider never called', async () => {
  upstream.answer(({ body }) => jsonResponse({ ...response([message]), model: body.model }))
  const { secret } = await gw.userWithKey({ id: 'rt-aq-x-search', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:grok-4.7', store: false, input: 'What are people saying about tollgate on X?', tools: [{ type: 'x_search' }] }),
  })
  const body = (await res.json()) as any
  expect({ status: res.status, code: body?.error?.code, upstreamCalls: upstream.calls.length }).toEqual({ status: 402, code: 'pricing_required', upstreamCalls: 0 })
  expect(body.error.message).toContain('x_search')
})

describe('x_search priced', () => {
  const ask = { model: 'plain:grok-4', store: false, input: 'What are people saying about tollgate on X?', tools: [{ type: 'x_search' }] }

  test('JSON: max_tool_calls injected, held at it, settled per X Search call item (x_search_call, or custom_tool_call by function name)', async () => {
    const { secret } = await gw.userWithKey({ id: 'x-search-json', max_budget: 10 })
    upstream.answer(() => jsonResponse(response([xSearchCall(1), xFunctionCall(2), xFunctionCall(3, 'x_user_search'), xFunctionCall(4, 'my_own_tool'), message])))
    const row = await settledRow(gw, 'x-search-json', async () => expect((await post(secret, ask)).status).toBe(200))
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.reserved).toBeGreaterThanOrEqual(TOKENS_COST + DEFAULT_MAX_USES * 5_000)
    expect(row.cost).toBe(TOKENS_COST + 3 * 5_000)
  })

  test('SSE: the X Search calls the stream began, at the per-call price', async () => {
    const { secret } = await gw.userWithKey({ id: 'x-search-sse', max_budget: 10 })
    let seq = 0
    const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
    const calls = [xFunctionCall(1), xFunctionCall(2, 'x_semantic_search')]
    upstream.answer(() =>
      sseResponse([
        event('response.created', { response: { ...response([]), status: 'in_progress', usage: null } }),
        ...calls.flatMap((item, output_index) => [
          event('response.output_item.added', { output_index, item: { ...item, input: '', status: 'in_progress' } }),
          event('response.output_item.done', { output_index, item }),
        ]),
        event('response.output_item.added', { output_index: 2, item: { ...message, status: 'in_progress', content: [] } }),
        event('response.output_text.delta', { item_id: 'msg_1', output_index: 2, content_index: 0, delta: 'people on X say…' }),
        event('response.output_item.done', { output_index: 2, item: message }),
        // The final response leaves the calls out: those the stream began count all the same.
        event('response.completed', { response: response([message]) }),
      ]),
    )
    const row = await settledRow(gw, 'x-search-sse', async () => {
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...ask, stream: true }),
      })
      expect(await res.text()).toContain('response.completed')
    })
    expect(row.cost).toBe(TOKENS_COST + 2 * 5_000)
  })
})

describe('Responses tools are a closed world', () => {
  test('a type neither billed nor known to be free (xAI code_execution, view_x_video, a made-up one): 400 feature_unsupported naming it, no call', async () => {
    const { secret } = await gw.userWithKey({ id: 'closed-world', max_budget: 10 })
    for (const type of ['code_execution', 'view_x_video', 'future_hosted_tool']) {
      const { status, body } = await post(secret, { model: 'plain:grok-4', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type }] })
      expect({ status, code: body?.error?.code, named: body?.error?.message.includes(`"${type}"`) }).toEqual({ status: 400, code: 'feature_unsupported', named: true })
    }
    expect(upstream.calls.length).toBe(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  })

  test('the free types of OpenAI\'s Tool union are served on a row with token rates only, max_tool_calls left unset', async () => {
    const { secret } = await gw.userWithKey({ id: 'free-tools', max_budget: 10 })
    upstream.answer(() => jsonResponse(response([message])))
    const tools = [
      { type: 'function', name: 'f', parameters: { type: 'object' } },
      { type: 'custom', name: 'grammar' },
      { type: 'computer', display_width: 1024, display_height: 768, environment: 'browser' },
      { type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' },
      { type: 'local_shell' },
      { type: 'shell' },
      { type: 'apply_patch' },
      { type: 'namespace', name: 'crm', description: 'CRM', tools: [{ type: 'function', name: 'lookup' }] },
      { type: 'tool_search' },
      { type: 'programmatic_tool_calling' },
    ]
    const { status } = await post(secret, { model: 'plain:grok-4.7', input: 'hi', tools })
    expect(status).toBe(200)
    expect(upstream.calls[0]!.body.tools).toEqual(tools)
    expect(upstream.calls[0]!.body.max_tool_calls).toBeUndefined()
    await gw.settled()
  })
})
