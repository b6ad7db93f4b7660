/**
 * A tool result (and any chat role but system/user/assistant/developer) is held as the JSON string a template writes
 * it as (`message.content | tojson`). transformers' `tojson` (vLLM, SGLang) writes what JSON.stringify does; TGI
 * renders chat templates with minijinja, whose `tojson` is HTML-safe: `<` `>` `&` `'` become `\u003c` `\u003e`
 * `\u0026` `\u0027` (6 bytes, three Llama 3 pre-tokens). A tool result that is an HTML page (a fetch tool's usual
 * answer) must be held for them, or spend passes max_budget with cap-output on (SPEC §6). Llama 3.1's template takes
 * the `| tojson` branch for `tool` and `ipython` alike; tool schemas and call arguments go through `tojson` too.
 */
import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:meta-llama/Llama-3.3-70B-Instruct'

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 1, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

const LLAMA3_PRETOKENS = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu
const preTokens = (text: string) => text.match(LLAMA3_PRETOKENS)?.length ?? 0

/** minijinja's `tojson` (TGI's chat templates): serde_json, then `<`, `>`, `&`, `'` as \u escapes. */
const minijinjaToJson = (value: unknown) =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/'/g, '\\u0027')

/** A lower bound of what TGI bills for Llama 3.x: each `tool`/`ipython` message as `message.content | tojson` renders it. */
const billTheRenderedPrompt = ({ body }: ScriptedCall) => {
  const prompt = (body.messages as Array<{ role: string; content: unknown }>)
    .filter((m) => m.role === 'tool' || m.role === 'ipython')
    .reduce((n, m) => n + preTokens(minijinjaToJson(m.content)), 30)
  return jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: 2, total_tokens: prompt + 2 },
  })
}

for (const role of ['tool', 'ipython'])
  test(`cap-output on: an HTML ${role} result TGI's tojson escapes never takes spend past max_budget`, async () => {
    upstream.answer(billTheRenderedPrompt)
    const page = "<li><a href='/p?a=1&b=2'><b>&lt;</b></a></li>".repeat(1_000)
    const body = {
      model: MODEL, max_tokens: 16,
      messages: [
        { role: 'user', content: 'Fetch the page.' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'fetch', arguments: '{}' } }] },
        { role, tool_call_id: 'call_1', content: page },
      ],
    }
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, `tgi-html-${role}`)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })

test('tool schemas and call arguments are held at least at the length minijinja writes them', () => {
  const html = "<p class='x'>a & b</p>".repeat(500)
  const tools = [{ type: 'function', function: { name: 'fetch', description: html, parameters: { type: 'object', properties: {} } } }]
  const args = { url: 'https://example.com', note: html }
  const body = {
    model: MODEL, max_tokens: 16, tools,
    messages: [
      { role: 'user', content: 'Fetch it.' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'fetch', arguments: JSON.stringify(args) } }] },
    ],
  }
  const held = estimateChat(body, { defaultMaxOutputTokens: 16, mediaPartTokens: 0, hardBounds: true }).inputTokens
  expect(held).toBeGreaterThanOrEqual(minijinjaToJson(tools).length + minijinjaToJson(args).length)
})
