import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { meterAnthropicStream } from '../src/metering/anthropic-stream'
import type { StreamFacts } from '../src/metering/metered-stream'
import { upstreamSignal } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, openStream, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6: a stream its client cuts is charged what was generated so far, "usage if known, else input estimate +
 * every kind of output counted from delivered deltas". An Anthropic stream states its input exactly in
 * `message_start` (plain input, cache reads, cache writes): a stream cut after it pays that input at its rates
 * plus the output delivered, not the byte-bound input estimate at the dearest input rate (a Claude Code Ctrl-C on
 * a cached prompt was charged many times what the provider bills). But once a server tool ran, the provider bills
 * later passes whose input message_start never stated: then the estimate stays, or the stated input if larger.
 *
 * `ant:m`: $10/M input, $1/M cache reads, $12.50/M cache writes, $20/M output, $0.01 a web search: 10, 1, 12.5
 * and 20 micro-USD a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'team-cut-stated-input'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: {
        'ant:m': {
          input_per_million: 10,
          cached_input_per_million: 1,
          cache_write_per_million: 12.5,
          output_per_million: 20,
          server_tools: { web_search: 0.01 },
        },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

// A long, cached prompt (Claude Code's system prompt and tools): its byte-bound estimate is far above what it bills.
const PROMPT = 'You are a careful coding agent. '.repeat(1_500)
const WEB_SEARCH = { type: 'web_search_20250305', name: 'web_search', max_uses: 1 }

const messageStart = (usage: Record<string, unknown> | null) =>
  anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage } })
const blockStart = (index: number, block: Record<string, unknown>) => anthropicEvent({ type: 'content_block_start', index, content_block: block })
const textDelta = (index: number, text: string) => anthropicEvent({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } })

const CACHED_USAGE = {
  input_tokens: 5,
  cache_read_input_tokens: 9_000,
  cache_creation_input_tokens: 1_000,
  cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 0 },
  output_tokens: 1,
}

interface Row {
  status: string
  cost: number
  reserved: number
  prompt_tokens: number
  completion_tokens: number
  cached_tokens: number
  cache_write_tokens: number
}

/** Streams /v1/messages until `until` has arrived, then goes away; the row the cut settled. */
async function cutAfter(until: string, body: Record<string, unknown> = {}): Promise<Row> {
  await gw.settled()
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'ant:m',
      max_tokens: 1_000,
      stream: true,
      system: [{ type: 'text', text: PROMPT, cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'Fix the bug.' }],
      ...body,
    }),
  })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!text.includes(until)) text += decoder.decode((await reader.read()).value, { stream: true })
  await reader.cancel()
  await gw.settled()
  const row = gw.query<Row>('SELECT status, cost, reserved, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  return row
}

describe('an Anthropic stream cut after message_start stated its input', () => {
  test('pays the stated input at its rates (cache reads, cache writes, plain) plus the output delivered, not the input estimate', async () => {
    upstream.answer(openStream([messageStart(CACHED_USAGE), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hello world')]))
    const row = await cutAfter('Hello world')
    // 5 plain at 10, 9,000 cache reads at 1, 1,000 cache writes at 12.5; 'Hello world' (11 bytes) at 20.
    expect(row).toMatchObject({ status: 'aborted', prompt_tokens: 10_005, cached_tokens: 9_000, cache_write_tokens: 1_000, completion_tokens: 11 })
    expect(row.cost).toBe(5 * 10 + 9_000 * 1 + 1_000 * 12.5 + 11 * 20)
  })

  test('its output counts a token a byte, but at most the max output the provider was sent', async () => {
    upstream.answer(openStream([messageStart(CACHED_USAGE), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hello world')]))
    const row = await cutAfter('Hello world', { max_tokens: 5 })
    expect(row).toMatchObject({ completion_tokens: 5, cost: 5 * 10 + 9_000 * 1 + 1_000 * 12.5 + 5 * 20 })
  })

  test('a translated chat client cut on the same stream pays the same', async () => {
    upstream.answer(openStream([messageStart(CACHED_USAGE), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hello world')]))
    await gw.settled()
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 1_000, stream: true, messages: [{ role: 'system', content: PROMPT }, { role: 'user', content: 'Fix the bug.' }] }),
    })
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('Hello world')) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    await gw.settled()
    const row = gw.query<Row>('SELECT status, cost, prompt_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!
    expect(row).toMatchObject({ status: 'aborted', prompt_tokens: 10_005, cost: 5 * 10 + 9_000 * 1 + 1_000 * 12.5 + 11 * 20 })
  })

  test('a message_start that states no input (a compatible server with no counts yet) leaves the input estimate', async () => {
    upstream.answer(openStream([messageStart({ input_tokens: 0, output_tokens: 0 }), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hello world')]))
    const stated = await cutAfter('Hello world')
    upstream.answer(openStream([messageStart(null), blockStart(0, { type: 'text', text: '' }), textDelta(0, 'Hello world')]))
    const unstated = await cutAfter('Hello world')
    expect(stated.prompt_tokens).toBeGreaterThan(1_000)
    expect([stated.prompt_tokens, stated.cost]).toEqual([unstated.prompt_tokens, unstated.cost])
  })
})

describe('once a server tool ran, the provider bills input message_start never stated', () => {
  const searched = (usage: Record<string, unknown> | null) =>
    openStream([
      messageStart(usage),
      blockStart(0, { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query":"bug"}' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      blockStart(1, { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }),
      anthropicEvent({ type: 'content_block_stop', index: 1 }),
      blockStart(2, { type: 'text', text: '' }),
      textDelta(2, 'Found it'),
    ])

  test('a cut after a web search pays the input estimate (the larger here), as a stream that stated no input does', async () => {
    upstream.answer(searched(CACHED_USAGE))
    const stated = await cutAfter('Found it', { tools: [WEB_SEARCH] })
    upstream.answer(searched(null))
    const unstated = await cutAfter('Found it', { tools: [WEB_SEARCH] })
    expect(stated.status).toBe('aborted')
    expect(stated.prompt_tokens).toBeGreaterThan(10_005)
    expect([stated.prompt_tokens, stated.completion_tokens, stated.cost]).toEqual([unstated.prompt_tokens, unstated.completion_tokens, unstated.cost])
  })

  test('a cut after a web search pays the stated input where it is the larger', async () => {
    const large = { input_tokens: 150_000, output_tokens: 1 }
    upstream.answer(searched(large))
    const row = await cutAfter('Found it', { tools: [WEB_SEARCH] })
    expect(row.prompt_tokens).toBe(150_000)
    // The stated input, the search, and the output delivered: the query's JSON and the text.
    expect(row.cost).toBe(150_000 * 10 + 10_000 + row.completion_tokens * 20)
  })
})

describe("the meter's stated input: trusted only while every block shown is one pass's own", () => {
  /** What the Anthropic meter reports of these events, the body ending after them. */
  async function statedAfter(blocks: Record<string, unknown>[], usage: Record<string, unknown> | null = CACHED_USAGE) {
    const events = [messageStart(usage), ...blocks.map((block, i) => blockStart(i, block))]
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(e))
        c.close()
      },
    })
    let facts: StreamFacts | undefined
    await new Response(meterAnthropicStream(source, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })).text()
    return facts!.statedInput
  }

  test('text, thinking and a client tool call: the stated input stands, counts of no output', async () => {
    const stated = await statedAfter([{ type: 'thinking', thinking: '' }, { type: 'redacted_thinking', data: 'x' }, { type: 'text', text: '' }, { type: 'tool_use', id: 't', name: 'Bash', input: {} }])
    expect(stated).toEqual({
      counts: { promptTokens: 10_005, completionTokens: 0, cachedTokens: 9_000, cacheWriteTokens: 1_000, cacheWrite5mTokens: 1_000, cacheWrite1hTokens: 0 },
      mayGrow: false,
    })
  })

  test('a server tool, its result, an MCP call, a compaction or a block of a kind not known: the input may grow', async () => {
    for (const block of [
      { type: 'server_tool_use', id: 's', name: 'code_execution', input: {} },
      { type: 'web_fetch_tool_result', tool_use_id: 's', content: {} },
      { type: 'mcp_tool_use', id: 'm', name: 'lookup', server_name: 'docs', input: {} },
      { type: 'compaction', content: '' },
      { type: 'a_block_from_next_year' },
    ])
      expect((await statedAfter([{ type: 'text', text: '' }, block]))?.mayGrow).toBe(true)
  })

  test('no input stated, or only zeros: none', async () => {
    expect(await statedAfter([{ type: 'text', text: '' }], null)).toBeUndefined()
    expect(await statedAfter([{ type: 'text', text: '' }], { input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 })).toBeUndefined()
  })
})
