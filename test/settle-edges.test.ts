import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, openAIEvent, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * How a stream is settled when it ends at the edges: closed cleanly before any output (released, like a
 * dropped connection), an Anthropic error right after `message_start` (released), and closed without usage
 * after some output (charged the estimate). Every route and provider pairing that streams. Then answers
 * whose usage the gateway cannot read, which are billed as answers without usage (the estimate).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-edges'))
})
afterAll(() => stop())

interface Route {
  name: string
  path: string
  model: string
}

const ROUTES: Route[] = [
  { name: 'chat → openai', path: '/v1/chat/completions', model: 'plain:m' },
  { name: 'chat → anthropic', path: '/v1/chat/completions', model: 'ant:m' },
  { name: 'messages → anthropic', path: '/v1/messages', model: 'ant:m' },
  { name: 'messages → openai', path: '/v1/messages', model: 'plain:m' },
]

async function post(path: string, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const streamThrough = (route: Route) =>
  post(route.path, { model: route.model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say something' }] })


const MESSAGE_START = anthropicEvent({
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } },
})

describe('a 200 stream that closes before any output is released, as a dropped one is', () => {
  for (const route of ROUTES) {
    test(`${route.name}: no events at all → no charge, status error`, async () => {
      upstream.answer(() => sseResponse([]))
      const row = await settledRow(gw, 'team-edges', async () => {
        const { status, text } = await streamThrough(route)
        expect(status).toBe(200)
        expect(text).toContain('ended before it finished')
      })
      expect(row.reserved).toBeGreaterThan(0)
      expect(row).toMatchObject({ status: 'error', cost: 0, completion_tokens: 0 })
    })
  }

  for (const route of ROUTES.filter((r) => r.model === 'ant:m')) {
    test(`${route.name}: message_start then the provider's error event → no charge`, async () => {
      upstream.answer(() =>
        sseResponse([MESSAGE_START, anthropicEvent({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]),
      )
      const row = await settledRow(gw, 'team-edges', async () => {
        const { status, text } = await streamThrough(route)
        expect(status).toBe(200)
        expect(text).toContain('Overloaded')
      })
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })

    test(`${route.name}: message_start, then closed → no charge`, async () => {
      upstream.answer(() => sseResponse([MESSAGE_START]))
      const row = await settledRow(gw, 'team-edges', async () => {
        expect((await streamThrough(route)).status).toBe(200)
      })
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })
  }
})

describe('a stream that closes without usage after some output is charged the estimate', () => {
  test('chat → openai: one content delta, then closed', async () => {
    upstream.answer(() => sseResponse([openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' } }] })]))
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[0]!)).status).toBe(200)
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })

  // A usage on a chunk that still has choices counts only the output up to it: here 1 token of the 1,000 words after.
  const EARLY_USAGE = openAIEvent({
    id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    usage: { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 },
  })
  const WORDS = openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'word '.repeat(1_000) } }] })

  test('chat → openai: a usage on the first chunk, 1,000 words, then closed without [DONE]', async () => {
    upstream.answer(() => sseResponse([EARLY_USAGE, WORDS]))
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[0]!)).status).toBe(200)
    })
    expect(row).toMatchObject({ status: 'error', cost: row.reserved })
  })

  test('chat → openai: a usage on the first chunk, 1,000 words, then [DONE] with no later usage', async () => {
    upstream.answer(() => sseResponse([EARLY_USAGE, WORDS, openAIEvent('[DONE]')]))
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[0]!)).status).toBe(200)
    })
    expect(row).toMatchObject({ status: 'ok', cost: row.reserved })
  })

  test('messages → anthropic: one text delta, then closed', async () => {
    upstream.answer(() =>
      sseResponse([
        MESSAGE_START,
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }),
      ]),
    )
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await streamThrough(ROUTES[2]!)).status).toBe(200)
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })
})

describe('an answer whose usage lacks the counts its format always reports is billed as one without usage: the estimate', () => {
  const LONG = 'word '.repeat(1_000)
  const completion = (usage: unknown) => ({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: LONG }, finish_reason: 'stop' }], usage,
  })

  /** The row of one request answered with `answer`; it must be a 200 charged exactly its hold. */
  async function chargedTheHold(answer: () => Response, path: string, body: Record<string, unknown>) {
    upstream.answer(answer)
    const row = await settledRow(gw, 'team-edges', async () => {
      expect((await post(path, body)).status).toBe(200)
    })
    expect(row.reserved).toBeGreaterThan(0)
    expect(row).toMatchObject({ status: 'ok', cost: row.reserved })
  }

  const chatBody = { model: 'plain:m', max_tokens: 2_000, messages: [{ role: 'user', content: 'Write a lot' }] }
  for (const [name, usage] of [
    ['counts as strings', { prompt_tokens: '20', completion_tokens: '1000', total_tokens: '1020' }],
    ['an empty object', {}],
    ['only total_tokens', { total_tokens: 1020 }],
    ['no completion_tokens', { prompt_tokens: 20, total_tokens: 1020 }],
  ] as const) {
    test(`chat → openai, JSON, usage with ${name}`, () => chargedTheHold(() => jsonResponse(completion(usage)), '/v1/chat/completions', chatBody))
  }

  test('chat → openai, stream whose usage chunk is an empty object, then [DONE]', () =>
    chargedTheHold(
      () => sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: LONG }, finish_reason: 'stop' }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: {} }),
        openAIEvent('[DONE]'),
      ]),
      '/v1/chat/completions',
      { ...chatBody, stream: true },
    ))

  test('messages → anthropic, JSON, usage with counts as strings', () =>
    chargedTheHold(
      () => jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: LONG }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: '20', output_tokens: '1000' },
      }),
      '/v1/messages',
      { model: 'ant:m', max_tokens: 2_000, messages: [{ role: 'user', content: 'Write a lot' }] },
    ))

  test('messages → anthropic, JSON, usage without output_tokens', () =>
    chargedTheHold(
      () => jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: LONG }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20 },
      }),
      '/v1/messages',
      { model: 'ant:m', max_tokens: 2_000, messages: [{ role: 'user', content: 'Write a lot' }] },
    ))

  test('responses → openai, JSON, usage with counts as strings', () =>
    chargedTheHold(
      () => jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm', error: null, incomplete_details: null,
        output: [{ id: 'm1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: LONG, annotations: [] }] }],
        usage: { input_tokens: '20', output_tokens: '1000', total_tokens: '1020' },
      }),
      '/v1/responses',
      { model: 'plain:m', max_output_tokens: 2_000, store: false, input: 'Write a lot' },
    ))

  test('embeddings → openai, usage with only total_tokens', () =>
    chargedTheHold(
      () => jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'm', usage: { total_tokens: 400 } }),
      '/v1/embeddings',
      { model: 'plain:m', input: 'x'.repeat(400) },
    ))
})

test('embeddings → openai, a negative prompt_tokens reads as no tokens, never as a credit: beside a vector, no usage (the hold)', async () => {
  upstream.answer(() => jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model: 'm', usage: { prompt_tokens: -1_000_000_000, total_tokens: 0 } }))
  const row = await settledRow(gw, 'team-edges', async () => {
    expect((await post('/v1/embeddings', { model: 'plain:m', input: 'hi' })).status).toBe(200)
  })
  // Read as 0 tokens, which beside the vector it returned is no usage (test/embeddings-zero-usage.test.ts).
  expect(row.status).toBe('ok')
  expect(row.cost).toBeGreaterThan(0)
  expect(row.cost).toBe(row.reserved)
})
