import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A server tool runs in Anthropic's server-side agentic loop (platform.claude.com, "Server tools": "the API executes
 * tool calls in a server-side agentic loop"): after each search the model is sampled again over the whole context —
 * the request's prompt, and every result so far — and the usage's `input_tokens` is "the cumulative number of input
 * tokens which were used" across those iterations (`iterations` lists each one). So a request offering web search
 * with `max_uses: 5` may read its prompt six times. The hold counted the prompt once, plus the per-use allowance
 * (`TOLLGATE_SERVER_TOOL_USE_INPUT_TOKENS`) for each result (`heldInputTokens`, src/pricing/price.ts): a long prompt
 * with a search loop billed several times what was held, and with cap-output on (SPEC §6: `spend <= max_budget`) the
 * user's spend passed the budget. The input is now held once per pass, as compaction's second pass is: once, and
 * once more after each use a tool's `max_uses` allows. The tool search tool takes no `max_uses`: nothing bounds its
 * passes, so with cap-output on it is refused, as code execution is.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'ant:claude-sonnet-4-5'
/** 200 KB of source code in the prompt: about 60,000 Claude tokens (≈3.3 bytes a token). */
const CODE = Array.from({ length: 4_000 }, (_, i) => `export const handler${i} = (req) => req.body?.items?.map((x) => x * ${i}) ?? [];`).join('\n').slice(0, 200_000)
const PROMPT_TOKENS = 60_000
const RESULT_TOKENS = 8_000
const SEARCHES = 5

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.01 } } },
  },
  (started) => ({ upstream, gw } = started),
)

/** Anthropic's answer: with web search offered, five searches, each sampled over the prompt and the results so far. */
const agenticLoop = ({ body }: ScriptedCall) => {
  const offers = (prefix: string) => Array.isArray(body.tools) && body.tools.some((t: { type?: string }) => t.type?.startsWith(prefix))
  const web = offers('web_search')
  const toolSearch = offers('tool_search_tool_')
  const searches = web || toolSearch ? SEARCHES : 0
  // A web search brings back pages; a tool search loads the definitions of the deferred tools it found (~600 tokens each).
  const added = web ? RESULT_TOKENS : 3 * 600
  const content: unknown[] = []
  const iterations: Array<{ type: string; input_tokens: number; output_tokens: number }> = []
  for (let i = 0; i < searches; i++) {
    if (web) {
      content.push({ type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_search', input: { query: `handler ${i} semantics` } })
      content.push({ type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [{ type: 'web_search_result', url: `https://example.com/${i}`, title: 'Docs', encrypted_content: 'EqgfCioIARgBIiQ3', page_age: null }] })
    } else {
      content.push({ type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'tool_search_tool_regex', input: { query: `crm_${i}` } })
      content.push({ type: 'tool_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: { type: 'tool_search_tool_search_result', tool_references: [{ type: 'tool_reference', tool_name: `crm_${i}_get` }] } })
    }
    iterations.push({ type: 'message', input_tokens: PROMPT_TOKENS + i * added, output_tokens: 30 })
  }
  content.push({ type: 'text', text: 'The handlers are fine.' })
  iterations.push({ type: 'message', input_tokens: PROMPT_TOKENS + searches * added, output_tokens: 20 })
  const input = iterations.reduce((n, it) => n + it.input_tokens, 0)
  const output = iterations.reduce((n, it) => n + it.output_tokens, 0)
  return jsonResponse({
    id: 'msg_loop', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content, stop_reason: 'end_turn', stop_sequence: null,
    usage: {
      input_tokens: input, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
      server_tool_use: web ? { web_search_requests: searches } : toolSearch ? { tool_search_requests: searches } : {},
      ...(searches > 0 ? { iterations } : {}),
    },
  })
}

const body = (tools?: unknown[]) => ({
  model: MODEL,
  max_tokens: 512,
  ...(tools ? { tools } : {}),
  messages: [{ role: 'user', content: `Review this module; check the current docs of anything it relies on.\n\n${CODE}` }],
})

const anthropicHeaders = { 'anthropic-version': '2023-06-01' }

test('control: the same prompt without a server tool keeps spend within max_budget', async () => {
  upstream.answer(agenticLoop)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', body(), 'loop-plain', { headers: anthropicHeaders, probeBudget: 10 })
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('web search (max_uses 5) reading the prompt again on every iteration never takes spend past max_budget', async () => {
  upstream.answer(agenticLoop)
  const { second, spend, budget } = await spendAtHeldBudget(
    gw, '/v1/messages', body([{ type: 'web_search_20250305', name: 'web_search', max_uses: SEARCHES }]), 'loop-search',
    { headers: anthropicHeaders, probeBudget: 10 },
  )
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

/** 40 MCP tools deferred behind the tool search tool, as Anthropic's tool search guide offers them: ~8 KB of definitions. */
const deferredTools = Array.from({ length: 40 }, (_, i) => ({
  name: `crm_${i}_get`, description: `Read CRM record kind ${i}.`, defer_loading: true,
  input_schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
}))

test('the tool search tool (no max_uses: nothing bounds its passes) is refused with cap-output on, before any hold', async () => {
  upstream.answer(agenticLoop)
  const { secret } = await gw.userWithKey({ id: 'loop-tool-search', max_budget: 10 })
  const payload = body([{ type: 'tool_search_tool_regex_20251119', name: 'tool_search_tool_regex' }, ...deferredTools])
  const res = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: { ...anthropicHeaders, 'x-api-key': secret, 'content-type': 'application/json' }, body: JSON.stringify(payload) })
  const text = await res.text()
  expect(res.status, text).toBe(400)
  expect(text).toContain('tool_search_tool_regex_20251119 is not served with cap-output on')
  expect(upstream.calls.length).toBe(0)
})
