import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * xAI's Responses answers show every server-side tool's calls as `custom_tool_call` items named by the tool's
 * functions, not only X Search's: its docs list the function names of each billed category
 * (SERVER_SIDE_TOOL_WEB_SEARCH: `web_search`, `web_search_with_snippets`, `browse_page`), and the AI SDK's xAI
 * provider maps `custom_tool_call` items by those names to its `web_search` tool as it maps `x_keyword_search` … to
 * `x_search` (xai-responses-language-model.ts, `webSearchSubTools`). Its code execution, asked for as
 * `{type: "code_interpreter"}`, shows as `code_execution_call` items or `custom_tool_call` items named
 * `code_execution`, with no container: one use each at the `code_interpreter` price. A `custom_tool_call` counts by
 * its name only when the request offered the billed tool: a client's own custom tool may bear the same name.
 * Rates: $3/M input, $15/M output (900 in + 50 out = 3,450 µ$); a web search, an X Search call and a code
 * execution $0.005 (5,000 µ$).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    server_tool_default_max_uses: 5,
    pricing: { 'plain:grok-4': { input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.005, x_search: 0.005 } } },
  },
  (s) => ({ upstream, gw } = s),
)

const TOKENS_COST = 3_450
const USAGE = { input_tokens: 900, input_tokens_details: { cached_tokens: 0 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 950 }
const message = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'the news says…', annotations: [] }] }
const call = (n: number, name: string) => ({ type: 'custom_tool_call', id: `ctc_${n}`, call_id: `call_${n}`, name, input: '{"query":"tollgate"}', status: 'completed' })
const response = (output: unknown[]) => ({ id: 'resp_w', object: 'response', status: 'completed', model: 'grok-4', output, usage: USAGE })
const ask = { model: 'plain:grok-4', store: false, input: 'What is new about tollgate?', tools: [{ type: 'web_search' }] }

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('JSON: xAI web searches shown as custom_tool_call items (web_search, web_search_with_snippets, browse_page) are settled per call', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-av-xai-web', max_budget: 10 })
  upstream.answer(() => jsonResponse(response([call(1, 'web_search'), call(2, 'web_search_with_snippets'), call(3, 'browse_page'), message])))
  const row = await settledRow(gw, 'rt-av-xai-web', async () => {
    const res = await post(secret, ask)
    expect(res.status).toBe(200)
    await res.text()
  })
  // Before the fix: 3,450 µ$ (tokens only), the three searches xAI bills (15,000 µ$) settled as none.
  expect(row.cost).toBe(TOKENS_COST + 3 * 5_000)
})

test('SSE: the same calls begun on a stream are settled per call', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-av-xai-web-sse', max_budget: 10 })
  let seq = 0
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  const calls = [call(1, 'web_search'), call(2, 'browse_page')]
  upstream.answer(() =>
    sseResponse([
      event('response.created', { response: { ...response([]), status: 'in_progress', usage: null } }),
      ...calls.flatMap((item, output_index) => [
        event('response.output_item.added', { output_index, item: { ...item, input: '', status: 'in_progress' } }),
        event('response.output_item.done', { output_index, item }),
      ]),
      event('response.completed', { response: response([...calls, message]) }),
    ]),
  )
  const row = await settledRow(gw, 'rt-av-xai-web-sse', async () => {
    const res = await post(secret, { ...ask, stream: true })
    expect(await res.text()).toContain('response.completed')
  })
  // Before the fix: 3,450 µ$.
  expect(row.cost).toBe(TOKENS_COST + 2 * 5_000)
})

test('JSON: xAI code execution (requested as code_interpreter, as the AI SDK sends it) shown as code_execution calls is settled per call', async () => {
  // The AI SDK's xAI provider sends its code execution tool as {type: "code_interpreter"} and reads the answer's
  // `code_execution_call` items, or `custom_tool_call` items named `code_execution`, as its calls: held at the row's
  // `code_interpreter` price, and settled per call (they name no container).
  const { secret } = await gw.userWithKey({ id: 'rt-av-xai-code', max_budget: 10 })
  await gw.admin('POST', '/v1/pricing', { model: 'plain:grok-4', input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.005, x_search: 0.005, code_interpreter: 0.005 } })
  upstream.answer(() => jsonResponse(response([call(1, 'code_execution'), { type: 'code_execution_call', id: 'ce_2', status: 'completed' }, message])))
  const row = await settledRow(gw, 'rt-av-xai-code', async () => {
    const res = await post(secret, { ...ask, tools: [{ type: 'code_interpreter' }] })
    expect(res.status).toBe(200)
    await res.text()
  })
  // Before the fix: 3,450 µ$, the two executions xAI bills settled as none.
  expect(row.cost).toBe(TOKENS_COST + 2 * 5_000)
})

test('a custom_tool_call of the client\'s own custom tool is not billed, whatever its name, when the billed tool was not offered', async () => {
  const { secret } = await gw.userWithKey({ id: 'xai-own-custom-tools', max_budget: 10 })
  const names = ['web_search', 'browse_page', 'x_keyword_search', 'code_execution']
  upstream.answer(() => jsonResponse(response(names.map((name, n) => call(n + 1, name)))))
  const row = await settledRow(gw, 'xai-own-custom-tools', async () => {
    const res = await post(secret, { ...ask, tools: names.map((name) => ({ type: 'custom', name })) })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(TOKENS_COST)
})
