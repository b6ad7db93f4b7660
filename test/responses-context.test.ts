import { describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openStream, scriptedProviders, sseResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A Responses request that continues stored context — `previous_response_id`, or a `conversation` — sends
 * the provider far more input than its own body: the provider bills the stored items again. The hold must
 * cover them, or concurrent requests could together pass the budget, which cap-output promises never
 * happens (SPEC §6). Rates: $1 per million input tokens, $2 per million output (1 and 2 micro-USD a token).
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const event = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`
const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const answer = (id: string, u: ReturnType<typeof usage>, extra: Record<string, unknown> = {}) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage: u, ...extra,
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })

const post = (secret: string, body: Record<string, unknown>, on: TestGateway = gw) =>
  fetch(`${on.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('the stored context a request continues is held for', () => {
  test('a response whose stream broke before its usage is sized at its worst case: chained requests cannot together pass the budget', async () => {
    const { secret } = await gw.userWithKey({ id: 'ctx-broken', max_budget: 1 })
    // Created and stored by the provider, then broken off before any output or usage (so it is free).
    upstream.answer(() => sseResponse([event({ type: 'response.created', sequence_number: 0, response: { id: 'resp_big', object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } })]))
    await (await post(secret, { model: 'plain:m', input: 'x'.repeat(590_000), stream: true })).text()
    await gw.settled()
    expect(gw.query(`SELECT context_tokens FROM stored_responses WHERE id = 'resp_big'`)[0].context_tokens).toBeGreaterThanOrEqual(590_000)

    // The provider bills the stored 590,000 tokens again on each chained request: $0.59 each.
    upstream.answer(() => answer(`resp_${crypto.randomUUID()}`, usage(590_010, 1)))
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await post(secret, { model: 'plain:m', input: 'and?', previous_response_id: 'resp_big', max_output_tokens: 16 })
        await res.text()
        return res.status
      }),
    )
    await gw.settled()
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 402)).toHaveLength(9)
    expect(upstream.calls.length).toBe(2)
    const user = (await gw.admin('GET', '/v1/users/ctx-broken')).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(user.reserved).toBe(0)
  })

  test('a conversation is sized by its latest response: the next request in it is held for everything it holds', async () => {
    const { secret } = await gw.userWithKey({ id: 'ctx-conversation', max_budget: 10 })
    // The answer names the conversation it was stored in (as OpenAI's does when one is created for it).
    upstream.answer(() => answer('resp_c1', usage(150_000, 50_000), { conversation: { id: 'conv_1' } }))
    await settledRow(gw, 'ctx-conversation', async () => void (await (await post(secret, { model: 'plain:m', input: 'Start' })).text()))
    expect(gw.query(`SELECT context_tokens FROM stored_responses WHERE id = 'conv_1'`)[0].context_tokens).toBe(200_000)

    upstream.answer(() => answer('resp_c2', usage(200_010, 5), { conversation: { id: 'conv_1' } }))
    const next = await settledRow(gw, 'ctx-conversation', async () => {
      expect((await post(secret, { model: 'plain:m', input: 'Go on', conversation: 'conv_1' })).status).toBe(200)
    })
    // Held for the conversation's 200,000 tokens at the input rate, besides the request's own input and output.
    expect(next.reserved).toBeGreaterThanOrEqual(200_000 + 64 * 2)
    expect(next.cost).toBe(200_010 + 5 * 2)
    expect(gw.query(`SELECT context_tokens FROM stored_responses WHERE id = 'conv_1'`)[0].context_tokens).toBe(200_015)
  })

  test('turns taken at once in one conversation each add to it: the next turn is held for all of them', async () => {
    const { secret } = await gw.userWithKey({ id: 'ctx-parallel', max_budget: 100 })
    // The provider's conversation: its size in tokens, grown by each response's input and output once it finishes.
    let size = 0
    let n = 0
    // The two turns are at the provider at once: each reads the conversation before either adds to it. (Left to the
    // clock, a loaded machine had the second arrive after the first had ended, and read the first's items in its
    // prompt, which the gateway then counts again: README, on a conversation's stored context.)
    const atOnce: Array<() => void> = []
    upstream.answer(async (call) => {
      const own = typeof call.body.input === 'string' ? Buffer.byteLength(call.body.input) : 0
      if (call.body.conversation && n === 1)
        await new Promise<void>((arrived) => {
          atOnce.push(arrived)
          if (atOnce.length === 2) for (const go of atOnce) go()
        })
      const prompt = size + own
      const output = Math.min(60, Number(call.body.max_output_tokens ?? 60))
      await Bun.sleep(150)
      size += own + output
      return answer(`resp_p${++n}`, usage(prompt, output), { conversation: { id: 'conv_p' } })
    })
    expect((await post(secret, { model: 'plain:m', input: 'x'.repeat(100_000) })).status).toBe(200)
    // Two turns at once, 50,000 tokens of input each: the conversation is ~200,000 tokens after them.
    const both = await Promise.all([0, 1].map(() => post(secret, { model: 'plain:m', input: 'y'.repeat(50_000), conversation: 'conv_p' })))
    expect(both.map((r) => r.status)).toEqual([200, 200])
    await gw.settled()
    expect(gw.query(`SELECT context_tokens FROM stored_responses WHERE id = 'conv_p'`)[0].context_tokens).toBe(size)

    // $0.16 of budget left: more than either turn's view of the conversation (~150,000 tokens), less than all of it.
    const before = (await gw.admin('GET', '/v1/users/ctx-parallel')).body
    await gw.admin('PATCH', '/v1/users/ctx-parallel', { max_budget: Number((before.spend + 0.16).toFixed(6)) })
    const next = await post(secret, { model: 'plain:m', input: 'go on', conversation: 'conv_p' })
    expect(next.status).toBe(402)
    expect(((await next.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded')
    expect(upstream.calls.length).toBe(3)
  })

  test('a stored id recorded without a size (as earlier versions recorded every conversation) is refused before any hold or call', async () => {
    const { secret } = await gw.userWithKey({ id: 'ctx-unknown', max_budget: 10 })
    gw.exec(
      `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, created_at) VALUES ('conv_old', 'conversation', 'ctx-unknown', 'plain', 'plain:m', NULL, 1)`,
    )
    const res = await post(secret, { model: 'plain:m', input: 'Go on', conversation: 'conv_old' })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('context_size_unknown')
    expect(upstream.calls.length).toBe(0)
    await gw.settled()
    expect(gw.query(`SELECT count(*) AS n FROM usage WHERE user_id = 'ctx-unknown'`)[0].n).toBe(0)
  })
})

describe('a response whose stream is cut before its usage is sized at everything it may have brought in', () => {
  let seq = 0
  const streamed = (type: string, data: Record<string, unknown>) => event({ type, sequence_number: seq++, ...data })
  const created = (id: string) => streamed('response.created', { response: { id, object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } })

  async function readThenCut(on: TestGateway, secret: string, body: Record<string, unknown>, marker: string) {
    const res = await fetch(`${on.url}/v1/responses`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes(marker)) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  }
  const sizeOf = (on: TestGateway, id: string) => on.query<{ context_tokens: number | null }>('SELECT context_tokens FROM stored_responses WHERE id = ?', id)[0]?.context_tokens

  // With cap-output on a remote MCP server is refused (nothing bounds what it answers): this runs with it off.
  test('cut after a remote MCP server answered: sized with the input its tools could bring back, so the chained request cannot pass the budget', async () => {
    const uncapped = await startTestGateway({
      config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, default_max_output_tokens: 64 },
    })
    try {
      const { secret } = await uncapped.userWithKey({ id: 'ctx-mcp-cut', max_budget: 10 })
      const docs = { type: 'mcp', server_label: 'docs', server_url: 'https://mcp.example.com/sse', require_approval: 'never' }
      const listing = { id: 'mcpl_1', type: 'mcp_list_tools', server_label: 'docs', tools: [{ name: 'fetch', description: 'd'.repeat(5_000), input_schema: {} }] }
      const call = { id: 'mcp_1', type: 'mcp_call', server_label: 'docs', name: 'fetch', arguments: '{}', output: 'p'.repeat(9_000) }
      upstream.answer(openStream([
        created('resp_mcp_cut'),
        streamed('response.output_item.added', { output_index: 0, item: { ...listing, tools: [] } }),
        streamed('response.output_item.done', { output_index: 0, item: listing }),
        streamed('response.output_item.added', { output_index: 1, item: { ...call, arguments: '', output: null } }),
        streamed('response.output_item.done', { output_index: 1, item: call }),
      ]))
      await settledRow(uncapped, 'ctx-mcp-cut', () => readThenCut(uncapped, secret, { model: 'plain:m', input: 'Read the docs.', tools: [docs], max_tool_calls: 1 }, '"mcp_1"'))
      // The listing and the call (~14,000 tokens) are in the context the provider keeps: at least that is recorded.
      expect(sizeOf(uncapped, 'resp_mcp_cut')!).toBeGreaterThanOrEqual(14_000)

      const before = (await uncapped.admin('GET', '/v1/users/ctx-mcp-cut')).body
      await uncapped.admin('PATCH', '/v1/users/ctx-mcp-cut', { max_budget: Number((before.spend + 0.002).toFixed(6)) })
      upstream.calls.length = 0
      upstream.answer(() => answer('resp_mcp_next', usage(14_100, 5)))
      const res = await post(secret, { model: 'plain:m', input: 'Go on.', previous_response_id: 'resp_mcp_cut', max_output_tokens: 16 }, uncapped)
      expect(res.status).toBe(402)
      expect(upstream.calls.length).toBe(0)
    } finally {
      await uncapped.stop()
    }
  })

  test('cut after more output than its bound (no max sent upstream): sized with all it delivered', async () => {
    const uncapped = await startTestGateway({
      config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, default_max_output_tokens: 64 },
    })
    try {
      const { secret } = await uncapped.userWithKey({ id: 'ctx-long-cut', max_budget: 10 })
      const text = 'w'.repeat(20_000)
      upstream.answer(openStream([
        created('resp_long_cut'),
        ...Array.from({ length: 20 }, (_, i) => streamed('response.output_text.delta', { output_index: 0, item_id: 'msg_l', content_index: 0, delta: text.slice(i * 1000, (i + 1) * 1000) })),
        streamed('response.output_text.delta', { output_index: 0, item_id: 'msg_l', content_index: 0, delta: 'END-MARK' }),
      ]))
      const first = await settledRow(uncapped, 'ctx-long-cut', () => readThenCut(uncapped, secret, { model: 'plain:m', input: 'Write at length.' }, 'END-MARK'))
      expect(first.completion_tokens).toBeGreaterThanOrEqual(20_000)
      expect(sizeOf(uncapped, 'resp_long_cut')!).toBeGreaterThanOrEqual(20_000)

      // The provider bills the stored input and its 20,000-token output again: the hold covers it.
      upstream.answer(() => answer('resp_long_next', usage(20_030, 5)))
      const next = await settledRow(uncapped, 'ctx-long-cut', async () => {
        const res = await fetch(`${uncapped.url}/v1/responses`, {
          method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'plain:m', input: 'Go on.', previous_response_id: 'resp_long_cut', max_output_tokens: 16 }),
        })
        expect(res.status).toBe(200)
        await res.text()
      })
      expect(next.reserved).toBeGreaterThanOrEqual(next.cost)
    } finally {
      await uncapped.stop()
    }
  })
})
