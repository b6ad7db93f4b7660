import OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { textBytes, TOOL_USE_OVERHEAD_TOKENS } from '../src/budget/estimate'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openStream, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * The Responses API's billed features (SPEC §5), through the same price book as chat and messages: hosted
 * tools with fees priced per use, bounded by `max_tool_calls`, held at their worst case and settled from the
 * tool calls the response shows; service tiers at their multiplier; web search run by Anthropic's server
 * tool when a translated target prices it. Whole-number rates: one token at $N/M costs N micro-USD.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let client: OpenAI
const USER = 'team-responses-features'
const DEFAULT_MAX_USES = 3
const USE_INPUT_TOKENS = 1000

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { ...scriptedProviders(upstream), viachat: { ...scriptedProviders(upstream).plain, responses: 'chat' as const } },
      server_tool_default_max_uses: DEFAULT_MAX_USES,
      server_tool_use_input_tokens: USE_INPUT_TOKENS,
      pricing: {
        'plain:m': {
          input_per_million: 2, cached_input_per_million: 1, output_per_million: 3, audio_input_per_million: 40, audio_output_per_million: 80,
          server_tools: { web_search: 0.025, file_search: 0.0025, code_interpreter: 0.03, code_interpreter_4g: 0.12 }, service_tiers: { priority: 2, flex: 0.5 },
        },
        'plain:bare': { input_per_million: 2, output_per_million: 3 },
        'ant:m': { input_per_million: 1, output_per_million: 2, cache_write_per_million: 3, server_tools: { web_search: 0.01 } },
        'ant:bare': { input_per_million: 1, output_per_million: 2 },
        'viachat:gpt-4o-search-preview': { input_per_million: 2, output_per_million: 3, server_tools: { web_search: 0.025 } },
        'viachat:gpt-4o-mini-search-preview': { input_per_million: 2, output_per_million: 3 },
      },
    },
  })
  const { secret } = await gw.userWithKey({ id: USER, max_budget: 100 })
  client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
})

const billed = (run: () => Promise<void>) => settledRow(gw, USER, run)

// ---------------------------------------------------------------------------------------------------------
// Scripted OpenAI Responses answers

const usage = (input: number, cached: number, output: number, extra: Record<string, unknown> = {}) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: cached, ...extra }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
/** 100 input tokens of which 40 cached, 10 output: 60 × 2 + 40 × 1 + 10 × 3 micro-USD on plain:m. */
const USAGE = usage(100, 40, 10)
const TOKENS_COST = 190

const searchCall = (n: number) => ({ id: `ws_${n}`, type: 'web_search_call', status: 'completed', action: { type: 'search', query: `query ${n}` } })
const answerMessage = { id: 'msg_1', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Done.', annotations: [], logprobs: [] }] }

const responseObject = (status: string, output: unknown[], u: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'resp_1', object: 'response', created_at: 1, status, model: 'm', output, usage: u, store: false, error: null, incomplete_details: null,
  instructions: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true, ...extra,
})

const responseJson = (output: unknown[], u: unknown = USAGE, extra: Record<string, unknown> = {}) => jsonResponse(responseObject('completed', output, u, extra))

/** A Responses stream as OpenAI sends it: each item added, streamed and done, then `response.completed` with the whole output. */
function responseStream(items: Array<Record<string, any>>, u: unknown = USAGE, extra: Record<string, unknown> = {}) {
  let seq = 0
  const event = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  const events = [event('response.created', { response: responseObject('in_progress', [], null, extra) })]
  items.forEach((item, output_index) => {
    const at = { item_id: item.id, output_index }
    if (item.type === 'web_search_call') {
      events.push(
        event('response.output_item.added', { output_index, item: { id: item.id, type: 'web_search_call', status: 'in_progress' } }),
        event('response.web_search_call.in_progress', at),
        event('response.web_search_call.searching', at),
        event('response.web_search_call.completed', at),
      )
    } else {
      events.push(
        event('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } }),
        event('response.output_text.delta', { ...at, content_index: 0, delta: 'Done.', logprobs: [] }),
      )
    }
    events.push(event('response.output_item.done', { output_index, item }))
  })
  events.push(event('response.completed', { response: responseObject('completed', items, u, extra) }))
  return sseResponse(events)
}

async function streamed(body: OpenAI.Responses.ResponseCreateParamsStreaming) {
  const stream = await client.responses.create(body)
  const types: string[] = []
  let final: OpenAI.Responses.Response | undefined
  for await (const event of stream) {
    types.push(event.type)
    if (event.type === 'response.completed') final = event.response
  }
  return { types, final: final! }
}

const refusal = (run: () => Promise<unknown>) => run().then(() => null, (e) => e)

// ---------------------------------------------------------------------------------------------------------

describe('native: a priced hosted web search is served, bounded, held and charged per call', () => {
  const ask = { model: 'plain:m', input: 'What happened today?', tools: [{ type: 'web_search' as const }] }

  test('JSON: max_tool_calls injected when unset, each web_search_call item at the per-use price', async () => {
    upstream.answer(() => responseJson([searchCall(1), searchCall(2), answerMessage]))
    const row = await billed(async () => {
      const response = await client.responses.create(ask)
      expect(response.output_text).toBe('Done.')
    })
    expect(upstream.calls[0]!.path).toBe('/v1/responses')
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.cost).toBe(TOKENS_COST + 2 * 25_000)
  })

  test('SSE: the calls the stream shows, at the per-use price', async () => {
    upstream.answer(() => responseStream([searchCall(1), searchCall(2), searchCall(3), answerMessage]))
    const row = await billed(async () => {
      const { types, final } = await streamed({ ...ask, stream: true })
      expect(types).toContain('response.web_search_call.searching')
      expect(final.output.filter((item) => item.type === 'web_search_call')).toHaveLength(3)
    })
    expect(row.cost).toBe(TOKENS_COST + 3 * 25_000)
  })

  test('SSE: calls the stream closed count even when the final response leaves them out of its output', async () => {
    const stream = responseStream([searchCall(1), searchCall(2), answerMessage])
    const text = (await stream.text()).replace(/("type":"response\.completed".*?"output":)\[.*?\](,"usage")/, '$1[]$2')
    upstream.answer(() => new Response(text, { headers: { 'content-type': 'text/event-stream' } }))
    const row = await billed(async () => {
      await streamed({ ...ask, stream: true })
    })
    expect(row.cost).toBe(TOKENS_COST + 2 * 25_000)
  })

  test('a response with no search pays its tokens only', async () => {
    upstream.answer(() => responseJson([answerMessage]))
    expect((await billed(async () => void (await client.responses.create(ask)))).cost).toBe(TOKENS_COST)
  })

  test('the client\'s max_tool_calls is kept; the hold covers it × (per-use price + the per-use input allowance)', async () => {
    upstream.answer(() => responseJson([answerMessage]))
    const plain = await billed(async () => void (await client.responses.create({ model: 'plain:m', input: ask.input })))
    const searching = await billed(async () => void (await client.responses.create({ ...ask, max_tool_calls: 4 })))
    expect(upstream.calls[1]!.body.max_tool_calls).toBe(4)
    const perUse = 25_000 + USE_INPUT_TOKENS * 2 // the allowance at the dearest input rate, $2/M
    const toolBytes = textBytes(ask.tools[0])
    expect(searching.reserved - plain.reserved).toBeGreaterThanOrEqual(4 * perUse)
    expect(searching.reserved - plain.reserved).toBeLessThanOrEqual(4 * perUse + 2 * toolBytes + 2 * 3 * 10 + 2 * TOOL_USE_OVERHEAD_TOKENS)
  })

  test('unpriced: 402 pricing_required naming the tool, before any hold or upstream call', async () => {
    await gw.settled()
    const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
    const error = await refusal(() => client.responses.create({ ...ask, model: 'plain:bare' }))
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(402)
    expect(error.code).toBe('pricing_required')
    expect(error.message).toContain('web_search')
    const preview = await refusal(() => client.responses.create({ model: 'plain:bare', input: 'hi', tools: [{ type: 'web_search_preview' }] }))
    expect(preview.status).toBe(402)
    expect(upstream.calls).toHaveLength(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
    expect((await gw.admin('GET', `/v1/users/${USER}`)).body.reserved).toBe(0)
  })
})

describe('native: other hosted tools with fees', () => {
  test('file_search, priced: one use per file_search_call item', async () => {
    const searchFiles = { id: 'fs_1', type: 'file_search_call', status: 'completed', queries: ['q'], results: null }
    upstream.answer(() => responseJson([searchFiles, { ...searchFiles, id: 'fs_2' }, answerMessage]))
    const row = await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] })))
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.cost).toBe(TOKENS_COST + 2 * 2_500)
  })

  test('code_interpreter, priced: one use per container its calls ran in', async () => {
    const run = (id: string, container: string) => ({ id, type: 'code_interpreter_call', status: 'completed', code: 'print(1)', container_id: container, outputs: null })
    upstream.answer(() => responseJson([run('ci_1', 'cntr_a'), run('ci_2', 'cntr_a'), run('ci_3', 'cntr_b'), answerMessage]))
    const tools = [{ type: 'code_interpreter' as const, container: { type: 'auto' as const } }]
    const row = await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi', tools })))
    expect(row.cost).toBe(TOKENS_COST + 2 * 30_000)
  })

  test('unpriced: image_generation and code_interpreter are refused, naming the tool', async () => {
    const image = await refusal(() => client.responses.create({ model: 'plain:m', input: 'draw', tools: [{ type: 'image_generation' }] }))
    expect(image.status).toBe(402)
    expect(image.message).toContain('image_generation')
    const code = await refusal(() => client.responses.create({ model: 'plain:bare', input: 'hi', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }))
    expect(code.status).toBe(402)
    expect(code.message).toContain('code_interpreter')
    expect(upstream.calls).toHaveLength(0)
  })
})

describe('native: a hosted shell runs in an OpenAI container, billed as code interpreter\'s (per container); a local shell is free', () => {
  const HOSTED = { type: 'shell', environment: { type: 'container_auto' } }
  const shellCall = (id: string, container: string | null) => ({
    id, type: 'shell_call', call_id: `call_${id}`, status: 'completed', action: { commands: ['ls -lah /mnt/data'], max_output_length: null, timeout_ms: null },
    environment: container === null ? { type: 'local' } : { type: 'container_reference', container_id: container },
  })
  const shellOutput = (id: string) => ({ id: `sho_${id}`, type: 'shell_call_output', call_id: `call_${id}`, status: 'completed', output: [{ stdout: 'total 0\n', stderr: '', outcome: { type: 'exit', exit_code: 0 } }] })
  const post = (body: Record<string, unknown>) =>
    billed(async () => {
      const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(res.status).toBe(200)
      await res.text()
    })

  test('container_auto, JSON: max_tool_calls injected, one code_interpreter price per container its shell_call items ran in', async () => {
    upstream.answer(() => responseJson([shellCall('1', 'cntr_a'), shellOutput('1'), shellCall('2', 'cntr_a'), shellOutput('2'), shellCall('3', 'cntr_b'), shellOutput('3'), answerMessage]))
    const row = await post({ model: 'plain:m', input: 'List the files.', tools: [HOSTED], store: false })
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.cost).toBe(TOKENS_COST + 2 * 30_000)
  })

  test('container_auto, SSE: the containers of the shell calls streamed', async () => {
    upstream.answer(() => responseStream([shellCall('1', 'cntr_a'), answerMessage]))
    const row = await post({ model: 'plain:m', input: 'List the files.', tools: [HOSTED], store: false, stream: true })
    expect(row.cost).toBe(TOKENS_COST + 30_000)
  })

  test('a shell and code interpreter in the same container pay it once', async () => {
    const run = { id: 'ci_1', type: 'code_interpreter_call', status: 'completed', code: 'print(1)', container_id: 'cntr_a', outputs: null }
    upstream.answer(() => responseJson([run, shellCall('1', 'cntr_a'), answerMessage]))
    const row = await post({ model: 'plain:m', input: 'hi', tools: [HOSTED, { type: 'code_interpreter', container: { type: 'auto' } }], store: false })
    expect(row.cost).toBe(TOKENS_COST + 30_000)
  })

  test('the hold covers max_tool_calls containers', async () => {
    upstream.answer(() => responseJson([answerMessage]))
    const plain = await post({ model: 'plain:m', input: 'hi', store: false })
    const hosted = await post({ model: 'plain:m', input: 'hi', tools: [HOSTED], store: false, max_tool_calls: 2 })
    expect(hosted.reserved - plain.reserved).toBeGreaterThanOrEqual(2 * (30_000 + 2 * USE_INPUT_TOKENS))
  })

  test('a local shell runs on the client: no price needed, no max_tool_calls, tokens only', async () => {
    upstream.answer(() => responseJson([shellCall('1', null), answerMessage]))
    for (const tool of [{ type: 'shell' }, { type: 'shell', environment: { type: 'local' } }]) {
      upstream.calls.length = 0
      const row = await post({ model: 'plain:bare', input: 'List the files.', tools: [tool], store: false })
      expect(upstream.calls[0]!.body.max_tool_calls).toBeUndefined()
      expect(row.cost).toBe(100 * 2 + 10 * 3)
    }
  })

  test('unpriced: a hosted shell is refused with 402 naming code_interpreter, before any hold or upstream call', async () => {
    for (const environment of [{ type: 'container_auto' }, { type: 'container_reference', container_id: 'cntr_a' }]) {
      const refused = await refusal(() => client.responses.create({ model: 'plain:bare', input: 'hi', tools: [{ type: 'shell', environment }] as never }))
      expect(refused.status).toBe(402)
      expect(refused.message).toContain('code_interpreter')
    }
    expect(upstream.calls).toHaveLength(0)
  })
})

describe('native: containers are billed by memory size, each size priced on its own (code_interpreter_<memory_limit>)', () => {
  // OpenAI bills a 4g, 16g, 64g container at 4×, 16×, 64× the default 1g one ($0.03): one price cannot serve them all.
  const run = (id: string, container: string) => ({ id, type: 'code_interpreter_call', status: 'completed', code: 'print(1)', container_id: container, outputs: null })
  const shellCall = (id: string, container: string) => ({
    id, type: 'shell_call', call_id: `call_${id}`, status: 'completed', action: { commands: ['ls'], max_output_length: null, timeout_ms: null }, environment: { type: 'container_reference', container_id: container },
  })
  const send = async (body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, text: await res.text() }
  }
  const post = (body: Record<string, unknown>) =>
    billed(async () => {
      expect((await send(body)).status).toBe(200)
    })

  test('a size without its own price: 402 pricing_required naming it, before any call — code interpreter and a hosted shell', async () => {
    upstream.answer(() => responseJson([answerMessage]))
    const tools = [
      { type: 'code_interpreter', container: { type: 'auto', memory_limit: '64g' } },
      { type: 'shell', environment: { type: 'container_auto', memory_limit: '16g' } },
    ]
    for (const tool of tools) {
      const { status, text } = await send({ model: 'plain:m', input: 'Crunch it.', store: false, tools: [tool] })
      expect(status).toBe(402)
      expect(text).toContain('pricing_required')
      expect(text).toContain(`code_interpreter_${tool.type === 'shell' ? '16g' : '64g'}`)
    }
    expect(upstream.calls).toHaveLength(0)
  })

  test('priced: each container at its size\'s price, JSON and SSE; the hold covers max_tool_calls of them', async () => {
    const big = { type: 'code_interpreter', container: { type: 'auto', memory_limit: '4g' } }
    upstream.answer(() => responseJson([run('ci_1', 'cntr_a'), run('ci_2', 'cntr_a'), run('ci_3', 'cntr_b'), answerMessage]))
    expect((await post({ model: 'plain:m', input: 'hi', tools: [big], store: false })).cost).toBe(TOKENS_COST + 2 * 120_000)
    upstream.answer(() => responseStream([run('ci_1', 'cntr_a'), answerMessage]))
    expect((await post({ model: 'plain:m', input: 'hi', tools: [big], store: false, stream: true })).cost).toBe(TOKENS_COST + 120_000)
    const shell = { type: 'shell', environment: { type: 'container_auto', memory_limit: '4g' } }
    upstream.answer(() => responseJson([shellCall('sh_1', 'cntr_a'), answerMessage]))
    expect((await post({ model: 'plain:m', input: 'hi', tools: [shell], store: false })).cost).toBe(TOKENS_COST + 120_000)
    upstream.answer(() => responseJson([answerMessage]))
    const plain = await post({ model: 'plain:m', input: 'hi', store: false })
    const held = await post({ model: 'plain:m', input: 'hi', tools: [big], store: false, max_tool_calls: 2 })
    expect(held.reserved - plain.reserved).toBeGreaterThanOrEqual(2 * (120_000 + 2 * USE_INPUT_TOKENS))
  })

  test('memory_limit 1g is the default: code_interpreter\'s price; beside a 4g shell, each tool\'s containers at its own size', async () => {
    upstream.answer(() => responseJson([run('ci_1', 'cntr_a'), shellCall('sh_1', 'cntr_b'), answerMessage]))
    const tools = [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: '1g' } }, { type: 'shell', environment: { type: 'container_auto', memory_limit: '4g' } }]
    expect((await post({ model: 'plain:m', input: 'hi', tools, store: false })).cost).toBe(TOKENS_COST + 30_000 + 120_000)
  })

  test('two code interpreters of different sizes: their containers are settled at the larger size, whichever is listed last', async () => {
    const small = { type: 'code_interpreter', container: { type: 'auto', memory_limit: '1g' } }
    const big = { type: 'code_interpreter', container: { type: 'auto', memory_limit: '4g' } }
    for (const tools of [[big, small], [small, big]]) {
      upstream.answer(() => responseJson([run('ci_1', 'cntr_a'), answerMessage]))
      expect((await post({ model: 'plain:m', input: 'hi', tools, store: false })).cost).toBe(TOKENS_COST + 120_000)
    }
  })

  test('a memory_limit that is not a size is a 400, before any call', async () => {
    const { status, text } = await send({ model: 'plain:m', input: 'hi', store: false, tools: [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: 'huge' } }] })
    expect(status).toBe(400)
    expect(text).toContain('memory_limit')
    expect(upstream.calls).toHaveLength(0)
  })
})

describe('native: remote MCP servers cost tokens only, but what they answer is input: bounded and held', () => {
  const docs = { type: 'mcp' as const, server_label: 'docs', server_url: 'https://mcp.example.com/sse', require_approval: 'never' as const }
  const drive = { type: 'mcp' as const, server_label: 'drive', connector_id: 'connector_googledrive' as const, authorization: 'token', require_approval: 'never' as const }
  const listing = { id: 'mcpl_1', type: 'mcp_list_tools', server_label: 'docs', tools: [] }
  const call = { id: 'mcp_1', type: 'mcp_call', server_label: 'docs', name: 'fetch', arguments: '{}', output: 'A page.' }

  test('no price needed; max_tool_calls injected when unset, the client\'s kept; billed by the usage\'s tokens', async () => {
    upstream.answer(() => responseJson([listing, call, answerMessage]))
    const row = await billed(async () => void (await client.responses.create({ model: 'plain:bare', input: 'Read the docs.', tools: [docs] })))
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.cost).toBe(60 * 2 + 40 * 2 + 10 * 3) // plain:bare has no cached rate: every input token at $2/M
    await billed(async () => void (await client.responses.create({ model: 'plain:bare', input: 'Read the docs.', tools: [docs], max_tool_calls: 2 })))
    expect(upstream.calls[1]!.body.max_tool_calls).toBe(2)
  })

  test('the hold covers each call allowed and each server\'s tool listing at the per-use input allowance (connectors too)', async () => {
    upstream.answer(() => responseJson([answerMessage]))
    const ask = { model: 'plain:bare', input: 'Read the docs.' }
    const plain = await billed(async () => void (await client.responses.create(ask)))
    const allowance = USE_INPUT_TOKENS * 2 // at $2/M
    const one = await billed(async () => void (await client.responses.create({ ...ask, tools: [docs] })))
    expect(one.reserved - plain.reserved).toBeGreaterThanOrEqual((DEFAULT_MAX_USES + 1) * allowance)
    expect(one.reserved - plain.reserved).toBeLessThanOrEqual((DEFAULT_MAX_USES + 1) * allowance + 2 * textBytes([docs]) + 2 * TOOL_USE_OVERHEAD_TOKENS)
    const two = await billed(async () => void (await client.responses.create({ ...ask, tools: [docs, drive], max_tool_calls: 4 })))
    expect(two.reserved - plain.reserved).toBeGreaterThanOrEqual((4 + 2) * allowance)
    expect(two.reserved - plain.reserved).toBeLessThanOrEqual((4 + 2) * allowance + 2 * textBytes([docs, drive]) + 2 * TOOL_USE_OVERHEAD_TOKENS)
  })
})

describe('native: server-side compaction is refused', () => {
  test('context_management with compaction: 400 feature_unsupported, before any hold or upstream call', async () => {
    await gw.settled()
    const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
    const error = await refusal(() => client.responses.create({ model: 'plain:m', input: 'hi', context_management: [{ type: 'compaction', compact_threshold: 200_000 }] } as OpenAI.Responses.ResponseCreateParamsNonStreaming))
    expect(error.status).toBe(400)
    expect(error.code).toBe('feature_unsupported')
    expect(error.message).toContain('context_management')
    expect(upstream.calls).toHaveLength(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
  })
})

describe('native: service tiers follow the rule of chat', () => {
  test('priority ×2 and flex ×0.5 by the tier the response reports, JSON and SSE', async () => {
    upstream.answer(() => responseJson([answerMessage], USAGE, { service_tier: 'priority' }))
    expect((await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi', service_tier: 'priority' })))).cost).toBe(2 * TOKENS_COST)
    upstream.answer(() => responseStream([answerMessage], USAGE, { service_tier: 'priority' }))
    expect((await billed(async () => void (await streamed({ model: 'plain:m', input: 'hi', service_tier: 'priority', stream: true })))).cost).toBe(2 * TOKENS_COST)
    upstream.answer(() => responseJson([answerMessage], USAGE, { service_tier: 'flex' }))
    expect((await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi', service_tier: 'flex' })))).cost).toBe(TOKENS_COST / 2)
  })

  test('a response served at the default tier pays the plain rates; a tier with no price is refused', async () => {
    upstream.answer(() => responseJson([answerMessage], USAGE, { service_tier: 'default' }))
    expect((await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi', service_tier: 'priority' })))).cost).toBe(TOKENS_COST)
    upstream.calls.length = 0
    const error = await refusal(() => client.responses.create({ model: 'plain:bare', input: 'hi', service_tier: 'priority' }))
    expect(error.status).toBe(402)
    expect(error.message).toContain('service tier priority')
    expect(upstream.calls).toHaveLength(0)
  })
})

describe('native: token kinds', () => {
  test('cached input at the cached rate and audio tokens at the audio rates, each token once', async () => {
    const audio = { ...usage(100, 40, 10, { audio_tokens: 20 }), output_tokens_details: { reasoning_tokens: 0, audio_tokens: 5 } }
    upstream.answer(() => responseJson([answerMessage], audio))
    const row = await billed(async () => void (await client.responses.create({ model: 'plain:m', input: 'hi' })))
    expect(row.cost).toBe(40 * 2 + 40 * 1 + 20 * 40 + 5 * 3 + 5 * 80)
  })
})

describe('through chat completions (responses: chat): billed as chat is', () => {
  test('a search model searches on every request: one use at the per-use price, or 402 where unpriced', async () => {
    upstream.answer(() => jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100, completion_tokens: 10 },
    }))
    const row = await billed(async () => void (await client.responses.create({ model: 'viachat:gpt-4o-search-preview', input: 'news?' })))
    expect(upstream.calls[0]!.path).toBe('/v1/chat/completions')
    expect(row.cost).toBe(230 + 25_000)
    const error = await refusal(() => client.responses.create({ model: 'viachat:gpt-4o-mini-search-preview', input: 'news?' }))
    expect(error.status).toBe(402)
    expect(error.message).toContain('web_search')
    expect(upstream.calls).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------------------------
// Translated to Anthropic

const CITATION = { type: 'web_search_result_location', url: 'https://example.com/a', title: 'Page A', encrypted_index: 'ei', cited_text: 'It rained.' }
const SEARCH_USE = { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'weather today' } }
const SEARCH_RESULT = {
  type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1',
  content: [{ type: 'web_search_result', url: 'https://example.com/a', title: 'Page A', encrypted_content: 'ec', page_age: null }],
}
const ANT_USAGE = { input_tokens: 100, output_tokens: 10, server_tool_use: { web_search_requests: 1 } }
/** ant:m: 100 × 1 + 10 × 2, and one search at $0.01. */
const ANT_SEARCH_COST = 120 + 10_000

const anthropicSearchMessage = () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'm', stop_reason: 'end_turn', stop_sequence: null, usage: ANT_USAGE,
    content: [SEARCH_USE, SEARCH_RESULT, { type: 'text', text: 'It rained.', citations: [CITATION] }],
  })

const anthropicSearchStream = () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 100, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { ...SEARCH_USE, input: {} } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query": "weather' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: ' today"}' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'content_block_start', index: 1, content_block: SEARCH_RESULT }),
    anthropicEvent({ type: 'content_block_stop', index: 1 }),
    anthropicEvent({ type: 'content_block_start', index: 2, content_block: { type: 'text', text: '', citations: [] } }),
    anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'citations_delta', citation: CITATION } }),
    anthropicEvent({ type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'It rained.' } }),
    anthropicEvent({ type: 'content_block_stop', index: 2 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 10, server_tool_use: { web_search_requests: 1 } } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

function expectSearchAnswer(response: OpenAI.Responses.Response) {
  expect(response.output[0]).toMatchObject({ type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'weather today' } })
  expect(response.output[1]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text: 'It rained.' }] })
  const text = response.output[1]!.type === 'message' ? response.output[1]!.content[0] : undefined
  expect(text && 'annotations' in text ? text.annotations : []).toEqual([{ type: 'url_citation', start_index: 0, end_index: 10, url: 'https://example.com/a', title: 'Page A' }])
}

describe('translated to Anthropic: web search runs there when it is priced', () => {
  const ask = { model: 'ant:m', input: 'Weather today?', tools: [{ type: 'web_search' as const, user_location: { type: 'approximate' as const, city: 'Paris', country: 'FR' } }] }

  test('JSON: sent as web_search_20250305 with max_uses, answered with a web_search_call item, each search at the per-use price', async () => {
    upstream.answer(anthropicSearchMessage)
    const row = await billed(async () => {
      const { data, response } = await client.responses.create(ask).withResponse()
      expect(response.headers.get('x-tollgate-dropped-tools')).toBeNull()
      expectSearchAnswer(data)
      expect(data.output_text).toBe('It rained.')
    })
    expect(upstream.calls[0]!.path).toBe('/v1/messages')
    expect(upstream.calls[0]!.body.tools).toEqual([
      { type: 'web_search_20250305', name: 'web_search', max_uses: DEFAULT_MAX_USES, user_location: { type: 'approximate', city: 'Paris', country: 'FR' } },
    ])
    expect(row.cost).toBe(ANT_SEARCH_COST)
  })

  test('SSE: the search streamed as web_search_call events, billed from the usage', async () => {
    upstream.answer(anthropicSearchStream)
    const row = await billed(async () => {
      const { types, final } = await streamed({ ...ask, max_tool_calls: 2, stream: true })
      expect(types.filter((t) => t.startsWith('response.web_search_call.'))).toEqual([
        'response.web_search_call.in_progress', 'response.web_search_call.searching', 'response.web_search_call.completed',
      ])
      expect(types).toContain('response.output_text.annotation.added')
      expectSearchAnswer(final)
    })
    expect(upstream.calls[0]!.body.tools[0].max_uses).toBe(2)
    expect(row.cost).toBe(ANT_SEARCH_COST)
  })

  test('the next turn sends the search item back (as Codex does): its answer goes to Claude, the search item does not', async () => {
    upstream.answer(() => jsonResponse({
      id: 'msg_2', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Yes.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 50, output_tokens: 5 },
    }))
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'user', content: 'Weather today?' },
      { id: 'ws_srvtoolu_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'weather today' } },
      { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'It rained.', annotations: [] }] },
      { role: 'user', content: 'Still?' },
    ]
    const row = await billed(async () => void (await client.responses.create({ ...ask, input })))
    expect(upstream.calls[0]!.body.messages.map((m: any) => m.role)).toEqual(['user', 'assistant', 'user'])
    expect(row.cost).toBe(60)
  })

  test('cache writes the target reports are billed at the cache-write rate, and counted once', async () => {
    upstream.answer(() => jsonResponse({
      id: 'msg_3', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hi.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 100, cache_read_input_tokens: 200, cache_creation_input_tokens: 1000, output_tokens: 10 },
    }))
    let reported: OpenAI.Responses.ResponseUsage | undefined
    const row = await billed(async () => void (reported = (await client.responses.create({ model: 'ant:m', input: 'hi' })).usage))
    expect(reported).toMatchObject({ input_tokens: 1300, input_tokens_details: { cached_tokens: 200 }, output_tokens: 10 })
    // No cached rate set: reads at the input rate.
    expect(row.cost).toBe(100 + 200 + 1000 * 3 + 10 * 2)
  })

  test('not priced there: web_search is dropped and named in X-Tollgate-Dropped-Tools, the tokens billed', async () => {
    upstream.answer(() => jsonResponse({
      id: 'msg_4', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Hi.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 10 },
    }))
    const row = await billed(async () => {
      const { response } = await client.responses.create({ ...ask, model: 'ant:bare' }).withResponse()
      expect(response.headers.get('x-tollgate-dropped-tools')).toBe('web_search')
    })
    expect(upstream.calls[0]!.body.tools).toBeUndefined()
    expect(row.cost).toBe(120)
  })
})

describe('a stream cut before its final event pays for the hosted calls it began, not every call allowed', () => {
  /** Streams the request until `marker` reached the client, then cuts it. */
  async function readThenCut(body: Record<string, unknown>, marker: string) {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes(marker)) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  }

  test('native: two searches begun of the three allowed, the second still searching', async () => {
    const whole = await responseStream([searchCall(1), searchCall(2), searchCall(3), answerMessage]).text()
    const events = whole.split(/(?<=\n\n)/)
    const secondStarted = events.findIndex((e) => e.includes('response.web_search_call.in_progress') && e.includes('"ws_2"'))
    upstream.answer(openStream(events.slice(0, secondStarted + 1)))
    const row = await billed(() => readThenCut({ model: 'plain:m', input: 'What happened today?', tools: [{ type: 'web_search' }] }, '"ws_2"'))
    expect(upstream.calls[0]!.body.max_tool_calls).toBe(DEFAULT_MAX_USES)
    expect(row.status).toBe('aborted')
    // Two searches at $0.025, and the input estimate and delivered output, which are far below a third.
    expect(Math.floor(row.cost / 25_000)).toBe(2)
  })

  test('the provider breaks the stream after two searches, before any text: the searches are charged, not nothing', async () => {
    const whole = await responseStream([searchCall(1), searchCall(2), answerMessage]).text()
    const events = whole.split(/(?<=\n\n)/)
    const searched = events.findIndex((e) => e.includes('response.output_item.done') && e.includes('"ws_2"'))
    const broke = `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'server_error', message: 'The server had an error', param: null, sequence_number: 99 })}\n\n`
    upstream.answer(() => sseResponse([...events.slice(0, searched + 1), broke]))
    const row = await billed(async () => {
      const res = await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', input: 'What happened today?', tools: [{ type: 'web_search' }], stream: true }),
      })
      expect(await res.text()).toContain('"ws_2"')
    })
    expect(row.status).toBe('error')
    expect(Math.floor(row.cost / 25_000)).toBe(2)
  })

  test('translated to Anthropic: one search begun of the three allowed', async () => {
    const whole = await anthropicSearchStream().text()
    const events = whole.split(/(?<=\n\n)/)
    upstream.answer(openStream(events.slice(0, events.findIndex((e) => e.includes('"server_tool_use"')) + 1)))
    const row = await billed(() => readThenCut({ model: 'ant:m', input: 'Weather today?', tools: [{ type: 'web_search' }] }, 'web_search_call'))
    expect(upstream.calls[0]!.body.tools[0].max_uses).toBe(DEFAULT_MAX_USES)
    expect(row.status).toBe('aborted')
    expect(Math.floor(row.cost / 10_000)).toBe(1)
  })
})
