import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { estimateChat, estimateMessages, type TokenEstimate } from '../src/budget/estimate'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedCall, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * With cap-output on, SPEC §6 makes `spend <= max_budget` an invariant: the hold must cover whatever the
 * target provider can bill: a translated request is billed as the provider receives it, with the text
 * the translation adds (a tool's `type` and default schema, arguments as JSON strings, wrappers), and any
 * request that offers tools with the tool-use prompt the provider adds to it.
 */

// 100 micro-USD a token, in and out: a few thousand tokens past the hold are dollars past the budget.
const PRICE = 100
const PRICING = {
  'plain:m': { input_per_million: PRICE, output_per_million: PRICE },
  'ant:m': { input_per_million: PRICE, output_per_million: PRICE },
  'viachat:m': { input_per_million: PRICE, output_per_million: PRICE },
}
const DEFAULT_MAX = 20
const O = { defaultMaxOutputTokens: DEFAULT_MAX, mediaPartTokens: 1000 }

let upstream: ScriptedUpstream
let gw: TestGateway
/** What the scripted provider reports as its input tokens on the next call. */
let billedInput = 0

function answer({ path, body }: ScriptedCall): Response {
  if (path === '/v1/messages')
    return jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: billedInput, output_tokens: 1 },
    })
  if (path === '/v1/responses')
    return jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model,
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: billedInput, output_tokens: 1, total_tokens: billedInput + 1 },
    })
  return jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: billedInput, completion_tokens: 1, total_tokens: billedInput + 1 },
  })
}

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      providers: { ...providers, viachat: { ...providers.plain, responses: 'chat' as const } },
      pricing: PRICING,
      cap_output_tokens: true,
      default_max_output_tokens: DEFAULT_MAX,
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(answer)
})

let users = 0
async function userWithBudget(maxBudget: number) {
  const id = `th-${++users}`
  return { id, secret: (await gw.userWithKey({ id, max_budget: maxBudget })).secret }
}

const post = (secret: string, path: string, body: unknown) =>
  fetch(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function spendOf(id: string): Promise<number> {
  await gw.settled()
  return (await gw.admin('GET', `/v1/users/${id}`)).body.spend
}

/** The hold a request took, in micro-USD: a fresh user's budget less what its X-Budget-Remaining says. */
const heldBy = (res: Response, budget: number) => Math.round((budget - Number(res.headers.get('x-budget-remaining'))) * 1e6)
const costOf = (e: TokenEstimate) => (e.inputTokens + e.outputTokens) * PRICE

/** 2,000 tools that name themselves only, in each format: a translation gives each a `type` or a default schema. */
const NAMES = Array.from({ length: 2000 }, (_, i) => `t${i}`)

describe('the hold covers a translated request as the provider receives it', () => {
  test('messages → OpenAI-compatible (Claude Code): a tool_use input of 20,000 JSON nulls goes upstream as ~100 kB of arguments, and is held as such', async () => {
    const BUDGET = 0.05 // 500 tokens at this price
    const { id, secret } = await userWithBudget(BUDGET)
    const body = {
      model: 'plain:m',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: Array(20_000).fill(null) } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
      ],
    }
    // The gateway's own count of this request as it goes to that provider (o200k_base, as OpenAI bills it).
    const counted = await post(secret, '/v1/messages/count_tokens', body)
    billedInput = ((await counted.json()) as { input_tokens: number }).input_tokens
    expect(billedInput).toBeGreaterThan(20_000)
    const res = await post(secret, '/v1/messages', body)
    await res.arrayBuffer()
    expect(res.status).toBe(402)
    expect(upstream.calls).toHaveLength(0)
    expect(await spendOf(id)).toBe(0)
  })

  test('messages → OpenAI-compatible: 2,000 tools given by name only go upstream with a `type` and a default `parameters` schema each, and the hold covers them', async () => {
    const BUDGET = 100
    const { id, secret } = await userWithBudget(BUDGET)
    const body = { model: 'plain:m', max_tokens: 10, tools: NAMES.map((name) => ({ name })), messages: [{ role: 'user', content: 'hi' }] }
    const counted = await post(secret, '/v1/messages/count_tokens', body)
    billedInput = ((await counted.json()) as { input_tokens: number }).input_tokens
    const res = await post(secret, '/v1/messages', body)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    const sent = upstream.calls.at(-1)!.body
    expect(sent.tools[0]).toEqual({ type: 'function', function: { name: 't0', parameters: { type: 'object', properties: {} } } })
    const held = heldBy(res, BUDGET)
    expect(held).toBeGreaterThanOrEqual(costOf(estimateChat(sent, O)))
    expect(Math.round((await spendOf(id)) * 1e6)).toBeLessThanOrEqual(held)
  })

  test('chat → Anthropic: 2,000 tools given by name only go upstream with a default `input_schema` each, and the hold covers them', async () => {
    const BUDGET = 100
    const { secret } = await userWithBudget(BUDGET)
    const body = { model: 'ant:m', max_tokens: 10, tools: NAMES.map((name) => ({ type: 'function', function: { name } })), messages: [{ role: 'user', content: 'hi' }] }
    billedInput = 10
    const res = await post(secret, '/v1/chat/completions', body)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    const sent = upstream.calls.at(-1)!.body
    expect(sent.tools[0]).toEqual({ name: 't0', input_schema: { type: 'object', properties: {} } })
    expect(estimateMessages(sent, O).inputTokens).toBeGreaterThan(estimateChat(body, O).inputTokens)
    expect(heldBy(res, BUDGET)).toBeGreaterThanOrEqual(costOf(estimateMessages(sent, O)))
  })

  test('Responses → Anthropic and → chat completions: function tools given by name only are held as the target receives them', async () => {
    for (const [model, estimateTarget] of [['ant:m', estimateMessages], ['viachat:m', estimateChat]] as const) {
      const BUDGET = 100
      const { secret } = await userWithBudget(BUDGET)
      billedInput = 10
      const res = await post(secret, '/v1/responses', { model, input: 'hi', max_output_tokens: 10, store: false, tools: NAMES.map((name) => ({ type: 'function', name })) })
      await res.arrayBuffer()
      expect(res.status).toBe(200)
      expect(heldBy(res, BUDGET)).toBeGreaterThanOrEqual(costOf(estimateTarget(upstream.calls.at(-1)!.body, O)))
    }
  })
})

describe('the hold covers the tool-use prompt a provider adds to any request that offers tools, on every route', () => {
  // Anthropic's largest documented tool-use system prompt (Claude 3 Opus, tool_choice auto), plus a few for "hi" and the tool.
  const TOOL_PROMPT = 530
  const cases: Array<[name: string, path: string, body: Record<string, unknown>]> = [
    ['messages → Anthropic', '/v1/messages', { model: 'ant:m', max_tokens: 16, tools: [{ name: 'f', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'hi' }] }],
    ['messages → OpenAI-compatible', '/v1/messages', { model: 'plain:m', max_tokens: 16, tools: [{ name: 'f', input_schema: { type: 'object' } }], messages: [{ role: 'user', content: 'hi' }] }],
    ['chat → OpenAI-compatible', '/v1/chat/completions', { model: 'plain:m', max_tokens: 16, tools: [{ type: 'function', function: { name: 'f' } }], messages: [{ role: 'user', content: 'hi' }] }],
    ['chat (legacy functions) → OpenAI-compatible', '/v1/chat/completions', { model: 'plain:m', max_tokens: 16, functions: [{ name: 'f' }], messages: [{ role: 'user', content: 'hi' }] }],
    ['chat → Anthropic', '/v1/chat/completions', { model: 'ant:m', max_tokens: 16, tools: [{ type: 'function', function: { name: 'f' } }], messages: [{ role: 'user', content: 'hi' }] }],
    ['Responses → OpenAI (native)', '/v1/responses', { model: 'plain:m', input: 'hi', max_output_tokens: 16, store: false, tools: [{ type: 'function', name: 'f' }] }],
    ['Responses → Anthropic', '/v1/responses', { model: 'ant:m', input: 'hi', max_output_tokens: 16, store: false, tools: [{ type: 'function', name: 'f' }] }],
    ['Responses → chat completions', '/v1/responses', { model: 'viachat:m', input: 'hi', max_output_tokens: 16, store: false, tools: [{ type: 'function', name: 'f' }] }],
  ]
  for (const [name, path, body] of cases)
    test(`${name}: billed ${TOOL_PROMPT} tokens of tool-use prompt and the request, spend stays within the hold`, async () => {
      const BUDGET = 1 // 10,000 tokens at this price: served
      const { id, secret } = await userWithBudget(BUDGET)
      billedInput = TOOL_PROMPT + 10
      const res = await post(secret, path, body)
      await res.arrayBuffer()
      expect(res.status).toBe(200)
      const held = heldBy(res, BUDGET)
      const spent = Math.round((await spendOf(id)) * 1e6)
      expect(spent).toBe((billedInput + 1) * PRICE)
      expect({ spent, withinHold: spent <= held }).toEqual({ spent, withinHold: true })
    })

  test('Codex / Agents SDK on /v1/responses to Claude with a $0.01 budget (100 tokens): a function tool is refused, never served past the budget', async () => {
    const BUDGET = 0.01
    const { id, secret } = await userWithBudget(BUDGET)
    billedInput = 346 + 10 // Claude 4's tool-use system prompt (tool_choice auto) and a few for "hi" and the tool
    const res = await post(secret, '/v1/responses', { model: 'ant:m', input: 'hi', tools: [{ type: 'function', name: 'f' }], max_output_tokens: 16, store: false })
    await res.arrayBuffer()
    expect(res.status).toBe(402)
    expect(upstream.calls).toHaveLength(0)
    expect(await spendOf(id)).toBe(0)
  })
})
