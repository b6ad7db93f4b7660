import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { anthropicEvent, openStream, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow, type UsageRow } from './support/settled-row'
import { waitFor } from './support/wait-for'

/**
 * A call the gateway gives up on at its own timeout is not free: the provider had the request (it was sent,
 * and no answer came in time). A JSON call is charged its whole hold — its answer comes only once the
 * provider has generated all of it, and a provider does not stop a non-stream generation when the
 * connection drops, so what it bills is unknown and bounded only by the hold — also when its client had
 * already left (the row then says `aborted`). A stream that times out before any output, waiting for its
 * headers or silent after them, pays as one its client cut there: the input estimate, or the input an Anthropic
 * stream's message_start stated. An upstream error
 * (a refusal, a 5xx, a connection refused) is still released. Rates are whole micro-USD per token:
 * Anthropic model 4 in / 20 out, OpenAI model 2 in / 3 out.
 */
const PRICING = {
  'mockant:claude-mock': { input_per_million: 4, output_per_million: 20 },
  'mock:gpt-mock': { input_per_million: 2, output_per_million: 3 },
  'mock:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 },
  'dead:gpt-mock': { input_per_million: 2, output_per_million: 3 },
}
const OUTPUT_RATE: Record<string, number> = { 'mockant:claude-mock': 20, 'mock:gpt-mock': 3 }
const MAX_TOKENS = 200
const UPSTREAM_TIMEOUT_MS = 800
const IDLE_TIMEOUT_MS = 300
const USER = 'team-timeouts'

let mock: MockProvider
let gw: TestGateway
let secret: string
let deadPort: number

beforeAll(async () => {
  mock = startMockProvider()
  const closed = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  deadPort = closed.port
  closed.stop(true)
  gw = await startTestGateway({
    mock,
    config: {
      providers: { ...mockProviders(mock), dead: { type: 'openai', base_url: `http://127.0.0.1:${deadPort}/v1`, api_key: 'sk-dead-secret-0123456789' } },
      pricing: PRICING,
      upstream_timeout_ms: UPSTREAM_TIMEOUT_MS,
      upstream_idle_timeout_ms: IDLE_TIMEOUT_MS,
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface Call {
  name: string
  path: string
  model: string
}
const CALLS: Call[] = [
  { name: 'messages → Anthropic', path: '/v1/messages', model: 'mockant:claude-mock' },
  { name: 'messages → OpenAI-compatible (translated)', path: '/v1/messages', model: 'mock:gpt-mock' },
  { name: 'chat → OpenAI-compatible', path: '/v1/chat/completions', model: 'mock:gpt-mock' },
  { name: 'chat → Anthropic (translated)', path: '/v1/chat/completions', model: 'mockant:claude-mock' },
]

function send(call: Call, stream: boolean, signal?: AbortSignal): Promise<Response> {
  return fetch(gw.url + call.path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: call.model, stream, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'Write me a long story' }] }),
    signal,
  })
}

/** The input estimate: the hold less its output part (max_tokens at the output rate). */
const inputEstimate = (row: UsageRow, call: Call) => row.reserved - MAX_TOKENS * OUTPUT_RATE[call.model]!

/**
 * What a stream cut after its headers pays for its input: an Anthropic provider's message_start states it (the
 * mock's count of 'Write me a long story': ceil(21 bytes / 4) + 3 for its message = 9 tokens, at 4); an OpenAI
 * stream states none before its end, so it pays the estimate.
 */
const inputAfterHeaders = (row: UsageRow, call: Call) => (call.model.startsWith('mockant:') ? 9 * 4 : inputEstimate(row, call))

describe('a JSON call the provider had when the gateway timed out is charged its whole hold', () => {
  for (const call of CALLS) {
    test(call.name, async () => {
      mock.queue('hang')
      const started = performance.now()
      const row = await settledRow(gw, USER, async () => {
        const res = await send(call, false)
        expect(res.status).toBe(504)
        await res.arrayBuffer()
      })
      expect(performance.now() - started).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50)
      expect(mock.aborts).toBe(1)
      expect(row.status).toBe('error')
      expect(row.cost).toBe(row.reserved)
      expect(row.cost).toBeGreaterThan(0)
      // Recorded as the tokens the hold priced: the input estimate and the max output.
      expect(row.completion_tokens).toBe(MAX_TOKENS)
      expect(row.prompt_tokens * (PRICING[call.model as keyof typeof PRICING].input_per_million)).toBe(inputEstimate(row, call))
    })
  }

  test('speech (a per-request route): its per_request price', async () => {
    mock.queue('hang')
    const row = await settledRow(gw, USER, async () => {
      const res = await fetch(`${gw.url}/v1/audio/speech`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:tts', input: 'the sea', voice: 'alloy' }),
      })
      expect(res.status).toBe(504)
      await res.arrayBuffer()
    })
    expect(row).toMatchObject({ status: 'error', cost: 500 })
  })
})

describe('a JSON call whose client left, and which then timed out upstream, is charged its whole hold, as aborted', () => {
  for (const call of CALLS) {
    test(call.name, async () => {
      mock.queue('hang')
      const row = await settledRow(gw, USER, async () => {
        const before = gw.query('SELECT count(*) AS n FROM usage')[0].n
        const controller = new AbortController()
        const sent = send(call, false, controller.signal).catch(() => null)
        expect(await waitFor(2000, () => mock.calls.length === 1)).toBe(true)
        controller.abort()
        await sent
        // The call runs on without its client until the upstream timeout.
        expect(await waitFor(UPSTREAM_TIMEOUT_MS * 3, async () => (await gw.settled(), gw.query('SELECT count(*) AS n FROM usage')[0].n > before))).toBe(true)
      })
      expect(mock.aborts).toBe(1)
      expect(row.status).toBe('aborted')
      expect(row.cost).toBe(row.reserved)
    })
  }
})

describe('a stream that times out before any output is charged its input estimate, or the input it stated', () => {
  for (const call of CALLS) {
    test(`${call.name}: no headers before the whole call's timeout → 504`, async () => {
      mock.queue('hang')
      const row = await settledRow(gw, USER, async () => {
        const res = await send(call, true)
        expect(res.status).toBe(504)
        await res.arrayBuffer()
      })
      expect(mock.aborts).toBe(1)
      expect(row.status).toBe('error')
      expect(row.cost).toBe(inputEstimate(row, call))
      expect(row.cost).toBeGreaterThan(0)
    })

    test(`${call.name}: headers, then silent past the idle timeout → an error event`, async () => {
      mock.options = { ...mock.options, chunkDelayMs: IDLE_TIMEOUT_MS * 3 }
      mock.queue('slow-stream')
      const row = await settledRow(gw, USER, async () => {
        const res = await send(call, true)
        expect(res.status).toBe(200)
        expect(await res.text()).toContain('error')
      })
      expect(mock.aborts).toBe(1)
      expect(row.status).toBe('error')
      expect(row.completion_tokens).toBe(0)
      expect(row.cost).toBe(inputAfterHeaders(row, call))
      expect(row.cost).toBeGreaterThan(0)
    })
  }
})

describe('the whole call\'s timeout after a stream\'s headers, before any output', () => {
  let upstream: ScriptedUpstream
  let slow: TestGateway
  let slowSecret: string
  beforeAll(async () => {
    upstream = startScriptedUpstream()
    slow = await startTestGateway({
      config: {
        providers: { ant: { type: 'anthropic', base_url: upstream.url, api_key: 'sk-ant-scripted-secret-0123456789' } },
        pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } },
        upstream_timeout_ms: UPSTREAM_TIMEOUT_MS,
        upstream_idle_timeout_ms: UPSTREAM_TIMEOUT_MS * 10,
      },
    })
    slowSecret = (await slow.userWithKey({ id: USER, max_budget: 10 })).secret
  })
  afterAll(async () => {
    await slow.stop()
    await upstream.stop()
  })

  test('an Anthropic stream that sent message_start and nothing more: the input it stated', async () => {
    upstream.answer(openStream([anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], model: 'm', usage: { input_tokens: 9, output_tokens: 1 } } })]))
    const row = await settledRow(slow, USER, async () => {
      const res = await fetch(`${slow.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': slowSecret, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ant:m', stream: true, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: 'Write me a long story' }] }),
      })
      expect(res.status).toBe(200)
      expect(await res.text()).toContain('event: error')
    })
    expect(row.status).toBe('error')
    // message_start's 9 input tokens at 1, below the estimate the hold took.
    expect(row.cost).toBe(9)
    expect(row.cost).toBeLessThan(row.reserved - MAX_TOKENS * 2)
  })
})

test('an upstream error stays a release: a provider that refuses the connection made nothing', async () => {
  const row = await settledRow(gw, USER, async () => {
    const res = await send({ name: 'dead', path: '/v1/chat/completions', model: 'dead:gpt-mock' }, false)
    expect(res.status).toBe(502)
    expect(((await res.json()) as any).error.message).toContain('could not be reached')
  })
  expect(row).toMatchObject({ status: 'error', cost: 0 })
})
