import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import type { Hold } from '../src/budget/hold'
import { answeredOutcome } from '../src/metering/outcome'
import { anthropicFeatures } from '../src/pricing/features'
import { heldAtProviderDefaults, heldOutputTokens, worstCaseCost, type Price } from '../src/pricing/price'
import { anthropicMessageCounts } from '../src/translate/usage'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant. The hold covers the server tools the request
 * asked for (`requested.serverTools`), each at its max_uses; so settlement charges no tool past that (`usageCharge`,
 * src/metering/outcome.ts): uses reported past a tool's max_uses (Perplexity's `num_search_queries` above the one
 * search held for `web_search_options`), or of a tool the request never offered, go unbilled and are logged.
 * And an answer's `server_tool_use` blocks count only for the tools the request offered (`withUsesShown`,
 * src/translate/usage.ts): Anthropic's web search with dynamic filtering (`web_search_20260209`, README "Server
 * tools are bounded") runs code execution on its own — blocks named `code_execution` and `bash_code_execution` in an
 * answer to a request that offered no code execution tool — and Anthropic does not charge those executions. With
 * cap-output on that search is refused (its code runs are passes `max_uses` does not bound), so the answers here
 * show such blocks beside a `web_search_20250305`, as a compatible server's may.
 */

const PRICE: Price = {
  id: 1, model: 'ant:m', inputPerMillion: 1_000_000, outputPerMillion: 2_000_000, cachedInputPerMillion: null, perRequest: null, createdAt: 0,
  serverTools: { web_search: 10_000, code_execution: 50_000 },
}

const MAX_TOKENS = 100
const request = {
  model: 'ant:m',
  max_tokens: MAX_TOKENS,
  messages: [{ role: 'user', content: 'What is the weather in Paris today?' }],
  tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }],
}

/** An answer within every bound of that request: one search (its max_uses), max_tokens of output; code execution blocks beside it. */
const answer = (model: string) => ({
  id: 'msg_1', type: 'message', role: 'assistant', model, stop_reason: 'max_tokens', stop_sequence: null,
  content: [
    { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'weather Paris' } },
    { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Weather', encrypted_content: 'abc' }] },
    { type: 'server_tool_use', id: 'srvtoolu_2', name: 'code_execution', input: { code: 'print(results[0])' } },
    { type: 'code_execution_tool_result', tool_use_id: 'srvtoolu_2', content: { type: 'code_execution_result', stdout: 'sunny', stderr: '', return_code: 0 } },
    { type: 'server_tool_use', id: 'srvtoolu_3', name: 'bash_code_execution', input: { command: 'grep -i temp results.txt' } },
    { type: 'bash_code_execution_tool_result', tool_use_id: 'srvtoolu_3', content: { type: 'bash_code_execution_result', stdout: '18C', stderr: '', return_code: 0 } },
    { type: 'text', text: 'Sunny, 18C.' },
  ],
  usage: { input_tokens: 100, output_tokens: MAX_TOKENS, server_tool_use: { web_search_requests: 1 } },
})

describe('unit: server tool uses at settlement', () => {
  test('code execution shown in an answer to a request that offered only web search: charged within the hold', () => {
    const { features } = anthropicFeatures(request, { defaultMaxUses: 5, useInputTokens: 20_000, hardBounds: true })
    expect(features.serverTools).toEqual({ web_search: 1 })
    // The request's input estimate: far above the 100 tokens the answer reports.
    const inputTokens = 1_000
    const hold = worstCaseCost(PRICE, inputTokens, MAX_TOKENS, heldAtProviderDefaults(PRICE, features), 20_000)
    const usage = anthropicMessageCounts(answer('m'))!
    expect(usage.promptTokens).toBeLessThanOrEqual(inputTokens)
    expect(usage.completionTokens).toBe(MAX_TOKENS)
    const outcome = answeredOutcome({ price: PRICE, features, outputBound: heldOutputTokens(MAX_TOKENS, features) }, usage, { amount: hold } as Hold, 1)
    // Hold: 21,000 input tokens (1,000 + the search's 20,000 allowance) + 200 output + 1 search = 31,200 µ$;
    // unclipped, the bill was 100 + 200 + 10,000 (the search) + 2 × 50,000 (executions never held) = 110,300 µ$.
    expect(outcome.cost).toBeLessThanOrEqual(hold)
    expect(outcome.unbilledToolUses).toEqual({ code_execution: 2 })
  })

  test('searches reported past max_uses: charged up to max_uses, the rest said unbilled; the row keeps the count reported', () => {
    const { features } = anthropicFeatures(request, { defaultMaxUses: 5, useInputTokens: 20_000, hardBounds: true })
    const hold = worstCaseCost(PRICE, 1_000, MAX_TOKENS, heldAtProviderDefaults(PRICE, features), 20_000)
    const usage = { promptTokens: 100, completionTokens: MAX_TOKENS, cachedTokens: 0, serverToolUses: { web_search: 4 } }
    const outcome = answeredOutcome({ price: PRICE, features, outputBound: MAX_TOKENS }, usage, { amount: hold } as Hold, 1)
    expect(outcome.cost).toBe(100 + 200 + 10_000)
    expect(outcome.unbilledToolUses).toEqual({ web_search: 3 })
    expect(outcome.serverToolUses).toEqual({ web_search: 4 })
  })

  test('cap-output off: the uses reported are charged whole, nothing said unbilled', () => {
    const { features } = anthropicFeatures(request, { defaultMaxUses: 5, useInputTokens: 20_000 })
    const usage = { promptTokens: 100, completionTokens: MAX_TOKENS, cachedTokens: 0, serverToolUses: { web_search: 4 } }
    const outcome = answeredOutcome({ price: PRICE, features }, usage, { amount: 1 } as Hold, 1)
    expect(outcome.cost).toBe(100 + 200 + 4 * 10_000)
    expect(outcome.unbilledToolUses).toBeUndefined()
  })
})

describe('unit: blocks count as uses only for the tools the request offered', () => {
  test('code execution blocks beside an offered search are not counted; offered, they are', () => {
    expect(anthropicMessageCounts(answer('m'), { web_search: 1 })!.serverToolUses).toEqual({ web_search: 1 })
    expect(anthropicMessageCounts(answer('m'), { web_search: 1, code_execution: 5 })!.serverToolUses).toEqual({ web_search: 1, code_execution: 2 })
  })
})

describe('through the gateway, cap-output on: spend <= max_budget', () => {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  beforeAll(async () => {
    upstream = startScriptedUpstream()
    gw = await startTestGateway({
      config: {
        providers: scriptedProviders(upstream),
        cap_output_tokens: true,
        pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01, code_execution: 0.05 } } },
      },
    })
  })
  afterAll(async () => {
    await gw.stop()
    await upstream.stop()
  })
  beforeEach(() => {
    upstream.calls.length = 0
  })

  const post = (secret: string, body: unknown) =>
    fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': secret, 'content-type': 'application/json' }, body: JSON.stringify(body) })

  test('messages → Anthropic, web search (max_uses 1) whose answer shows code executions it did not offer', async () => {
    upstream.answer(({ body }) => jsonResponse(answer(body.model)))
    // The hold, learned from a user with $1.
    const probe = await gw.userWithKey({ id: 'rt-ch-tools-probe', max_budget: 1 })
    const first = await post(probe.secret, request)
    await first.arrayBuffer()
    expect(first.status).toBe(200)
    const held = Math.round((1 - Number(first.headers.get('x-budget-remaining'))) * 1e6)

    // A user whose budget is exactly that hold.
    const { secret } = await gw.userWithKey({ id: 'rt-ch-tools-tight', max_budget: held / 1e6 })
    const res = await post(secret, request)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
    expect(upstream.calls.at(-1)!.body.max_tokens).toBe(MAX_TOKENS)
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/rt-ch-tools-tight')).body
    const spend = Math.round(user.spend * 1e6)
    // Bill: 100 + 200 + 10,000 + 2 × 50,000 = 110,300 µ$, against a hold of ~31,000 µ$.
    expect({ spend, held, withinBudget: spend <= Math.round(user.max_budget * 1e6) }).toMatchObject({ withinBudget: true })
    // The executions are not the request's tool: not even counted as its uses.
    const [row] = gw.query<{ server_tool_uses: string }>("SELECT server_tool_uses FROM usage WHERE user_id = 'rt-ch-tools-tight'")
    expect(JSON.parse(row!.server_tool_uses)).toEqual({ web_search: 1 })
  })

  test('the same answer streamed: the code execution blocks begun are no uses of a tool the request offered', async () => {
    upstream.answer(({ body }) => {
      const { content, usage, ...message } = answer(body.model)
      return sseResponse([
        anthropicEvent({ type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 0 } } }),
        ...content.flatMap((block, index) => [anthropicEvent({ type: 'content_block_start', index, content_block: block }), anthropicEvent({ type: 'content_block_stop', index })]),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: usage.output_tokens, server_tool_use: usage.server_tool_use } }),
        anthropicEvent({ type: 'message_stop' }),
      ])
    })
    const { secret } = await gw.userWithKey({ id: 'rt-ch-tools-stream', max_budget: 1 })
    const res = await post(secret, { ...request, stream: true })
    await res.text()
    expect(res.status).toBe(200)
    await gw.settled()
    const [row] = gw.query<{ cost: number; server_tool_uses: string }>("SELECT cost, server_tool_uses FROM usage WHERE user_id = 'rt-ch-tools-stream'")
    expect({ cost: row!.cost, uses: JSON.parse(row!.server_tool_uses) }).toEqual({ cost: 100 + 200 + 10_000, uses: { web_search: 1 } })
  })
})
