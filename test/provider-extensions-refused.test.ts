import { beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Provider-specific extensions of chat completions that OpenAI-compatible servers bill beyond what the gateway
 * can hold for, all sent through a `type: openai` provider (`plain`, not api.openai.com) whose price row has
 * token rates only, are refused before any hold or upstream call:
 *
 * - Tools the provider runs itself: chat tools are a closed world (`function` and `custom`, run by the client).
 *   Groq's built-in `browser_search` and `code_interpreter` on openai/gpt-oss-* (console.groq.com/docs/browser-search,
 *   console.groq.com/docs/tool-use/built-in-tools) and Moonshot Kimi's `$web_search` (`{type: "builtin_function"}`,
 *   $0.005 per call plus its results as input of the next call: platform.kimi.ai/docs/pricing/tools) are each
 *   billed per use on top of tokens, and a chat usage does not count those uses.
 * - Groq's Compound systems (`groq/compound`, `groq/compound-mini`, with or without `compound_custom`), which choose
 *   their own tools — web search, website visits, code execution and browser automation, each billed on top of
 *   tokens, code execution and browser automation by the hour (console.groq.com/docs/compound/systems: "up to 10
 *   tool calls per request").
 * - Gemini's explicit context cache named on its OpenAI-compatible endpoint (`extra_body: {google: {cached_content:
 *   "cachedContents/…"}}`, ai.google.dev/gemini-api/docs/openai): the cached contents are input Gemini bills (in
 *   `prompt_tokens`) but the body does not show, so the request cannot be sized: 400 `context_size_unknown`.
 *
 * SPEC §5: what the price book cannot price is refused before any hold or call; SPEC §6: with cap-output on,
 * spend <= max_budget always. Rates: $1/M input, $2/M output (1 and 2 µ$ a token); cap-output on, default max output 64.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'team-rt-at'
const BUDGET_USD = 0.05 // 50,000 µ$

withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: {
      'plain:openai/gpt-oss-120b': { input_per_million: 1, output_per_million: 2 },
      'plain:groq/compound': { input_per_million: 1, output_per_million: 2 },
      'plain:gemini-2.5-pro': { input_per_million: 1, output_per_million: 2 },
      'plain:kimi-k2': { input_per_million: 1, output_per_million: 2 },
    },
  },
  (started) => ({ upstream, gw } = started),
)
beforeAll(async () => {
  secret = (await gw.userWithKey({ id: USER, max_budget: BUDGET_USD })).secret
})
beforeEach(async () => {
  await gw.settled()
  gw.exec('UPDATE users SET spend = 0 WHERE id = ?', USER)
})

const completion = (usage: Record<string, unknown>, message: Record<string, unknown> = {}) =>
  jsonResponse({
    id: 'chatcmpl-rt-at', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok', ...message }, finish_reason: 'stop' }],
    usage,
  })

const post = async (path: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const spendMicros = async () => Math.round((await gw.admin('GET', `/v1/users/${USER}`)).body.spend * 1e6)
const lastRow = () => gw.query<{ cost: number; reserved: number; status: string }>('SELECT cost, reserved, status FROM usage ORDER BY id DESC LIMIT 1')[0]

/** Refused (400 or 402) before any upstream call: the gateway cannot price or bound what the provider bills. */
async function expectRefusedBeforeCall(path: string, body: Record<string, unknown>) {
  const { status, text } = await post(path, body)
  await gw.settled()
  const seen = `status ${status}, upstream calls ${upstream.calls.length}, last usage row ${JSON.stringify(lastRow())}, ${text.slice(0, 200)}`
  expect(upstream.calls.length, seen).toBe(0)
  expect([400, 402], seen).toContain(status)
}

describe('Groq built-in (server-side) tools on chat completions are billed features', () => {
  // What Groq answers: the tool ran server-side (`executed_tools`), tokens in usage; the per-use fee is on the invoice.
  const groqAnswer = () =>
    completion({ prompt_tokens: 30, completion_tokens: 20, total_tokens: 50 }, { executed_tools: [{ index: 0, type: 'browser_search', arguments: '{"query":"ai news"}', output: 'results…' }] })

  test('tools [{type: "browser_search"}] or [{type: "code_interpreter"}] on openai/gpt-oss-120b, unpriced: refused before any call', async () => {
    for (const tool of ['browser_search', 'code_interpreter']) {
      upstream.calls.length = 0
      upstream.answer(groqAnswer)
      await expectRefusedBeforeCall('/v1/chat/completions', {
        model: 'plain:openai/gpt-oss-120b', max_tokens: 32, messages: [{ role: 'user', content: 'What happened in AI last week?' }],
        tools: [{ type: tool }], tool_choice: 'required',
      })
    }
  })

  test('a Compound system (groq/compound, with compound_custom enabling web_search and browser_automation), unpriced: refused before any call', async () => {
    upstream.answer(() =>
      completion({ prompt_tokens: 30, completion_tokens: 20, total_tokens: 50 }, { executed_tools: [{ index: 0, type: 'search', arguments: '{"query":"weather tokyo"}' }] }),
    )
    // Plain model name first (Compound decides to search or run code on its own), then with its tools named.
    for (const extra of [{}, { compound_custom: { tools: { enabled_tools: ['web_search', 'browser_automation', 'code_interpreter'] } } }]) {
      upstream.calls.length = 0
      await expectRefusedBeforeCall('/v1/chat/completions', {
        model: 'plain:groq/compound', max_tokens: 32, messages: [{ role: 'user', content: 'What is the weather in Tokyo now?' }], ...extra,
      })
    }
  })
})

describe('Moonshot Kimi built-in $web_search (a "builtin_function" tool) is a billed feature', () => {
  // platform.kimi.ai/docs/pricing/tools: $0.005 for each answer that calls $web_search (finish_reason tool_calls), and the
  // search results are billed as input tokens of the next call, where the body carries only their reference.
  test('tools [{type: "builtin_function", function: {name: "$web_search"}}], unpriced: refused before any call', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'chatcmpl-kimi', object: 'chat.completion', created: 1, model: 'kimi-k2',
        choices: [{
          index: 0, finish_reason: 'tool_calls',
          message: { role: 'assistant', content: '', tool_calls: [{ index: 0, id: '$web_search:1', type: 'builtin_function', function: { name: '$web_search', arguments: '{"search_result":{"search_id":"s-1"},"usage":{"total_tokens":4000}}' } }] },
        }],
        usage: { prompt_tokens: 30, completion_tokens: 20, total_tokens: 50 },
      }),
    )
    await expectRefusedBeforeCall('/v1/chat/completions', {
      model: 'plain:kimi-k2', max_tokens: 32, messages: [{ role: 'user', content: 'Search the web: tollgate news' }],
      tools: [{ type: 'builtin_function', function: { name: '$web_search' } }],
    })
  })
})

describe('Gemini explicit context cache named on its OpenAI-compatible endpoint: input the body does not show', () => {
  test('extra_body.google.cached_content: refused before any call, and spend stays within max_budget (cap-output on)', async () => {
    // The cache holds 120,000 tokens; Gemini counts them in prompt_tokens (and cached_tokens): 120,000 µ$ at the
    // price book's rates (no cached rate set: SPEC §5 bills cached tokens at the input rate), past the $0.05 budget.
    upstream.answer(() => completion({ prompt_tokens: 120_010, completion_tokens: 5, total_tokens: 120_015, prompt_tokens_details: { cached_tokens: 120_000 } }))
    const body = {
      model: 'plain:gemini-2.5-pro', max_tokens: 10, messages: [{ role: 'user', content: 'Summarise the cached document.' }],
      extra_body: { google: { cached_content: 'cachedContents/0000aaaa1111bbbb2222cccc3333dddd4444eeee' } },
    }
    const { status, text } = await post('/v1/chat/completions', body)
    await gw.settled()
    const seen = `status ${status}, upstream calls ${upstream.calls.length}, last usage row ${JSON.stringify(lastRow())}, spend ${await spendMicros()} µ$ of ${BUDGET_USD * 1e6}, ${text.slice(0, 200)}`
    expect(await spendMicros(), seen).toBeLessThanOrEqual(BUDGET_USD * 1e6)
    expect(upstream.calls.length, seen).toBe(0)
  })

  test('every spelling of the cache: 400 naming the field (context_size_unknown; a top-level camelCase key, case_variant_key); translated from Messages it is not sent on', async () => {
    const name = 'cachedContents/0000aaaa1111bbbb2222cccc3333dddd4444eeee'
    for (const [field, extra, code] of [
      ['extra_body.google.cached_content', { extra_body: { google: { cached_content: name } } }, 'context_size_unknown'],
      ['google.cached_content', { google: { cached_content: name } }, 'context_size_unknown'],
      ['cached_content', { cached_content: name }, 'context_size_unknown'],
      // Refused before the features are read: no top-level key of these APIs has a capital (src/http/case-variant-keys.ts).
      ['cachedContent', { cachedContent: name }, 'case_variant_key'],
    ] as const) {
      const { status, text } = await post('/v1/chat/completions', { model: 'plain:gemini-2.5-pro', max_tokens: 10, messages: [{ role: 'user', content: 'Summarise.' }], ...extra })
      const error = JSON.parse(text).error
      expect({ status, code: error?.code, named: error?.message.startsWith(`Invalid body: ${field}:`) }).toEqual({ status: 400, code, named: true })
    }
    expect(upstream.calls.length).toBe(0)
    upstream.answer(() => completion({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }))
    const { status } = await post('/v1/messages', { model: 'plain:gemini-2.5-pro', max_tokens: 10, messages: [{ role: 'user', content: 'Summarise.' }], extra_body: { google: { cached_content: name } }, cached_content: name })
    expect(status).toBe(200)
    expect(upstream.calls.length).toBe(1)
    expect(upstream.calls[0]!.body).toHaveProperty('messages')
    expect(JSON.stringify(upstream.calls[0]!.body)).not.toContain('cachedContents/')
  })
})

test('control: the same models without the extensions are served', async () => {
  upstream.answer(() => completion({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }))
  for (const model of ['plain:openai/gpt-oss-120b', 'plain:gemini-2.5-pro']) {
    const { status, text } = await post('/v1/chat/completions', { model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] })
    expect(status, text.slice(0, 200)).toBe(200)
  }
  await gw.settled()
})
