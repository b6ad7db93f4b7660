import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockBehavior, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow, type UsageRow } from './support/settled-row'

/**
 * Every way a provider can fail, on `/v1/messages` (native and translated to an OpenAI-compatible
 * provider) and on a chat stream translated to an Anthropic provider: what the client is told, in the
 * route's own format, and what the ledger keeps. Rates are whole micro-USD per token so that charges can
 * be checked exactly: Anthropic model 4 in / 20 out, OpenAI model 2 in / 3 out.
 */
const PRICING = {
  'mockant:claude-mock': { input_per_million: 4, output_per_million: 20 },
  'mock:gpt-mock': { input_per_million: 2, output_per_million: 3 },
}
const MAX_TOKENS = 200
const UPSTREAM_TIMEOUT_MS = 1000
const IDLE_TIMEOUT_MS = 300

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { pricing: PRICING, upstream_timeout_ms: UPSTREAM_TIMEOUT_MS, upstream_idle_timeout_ms: IDLE_TIMEOUT_MS },
  })
  secret = (await gw.userWithKey({ id: 'team-faults', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const USER_TEXT = 'Tell me something'

function messages(extra: Record<string, unknown> = {}) {
  return fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: USER_TEXT }], ...extra }),
  })
}

function chat(extra: Record<string, unknown> = {}) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: USER_TEXT }], ...extra }),
  })
}


/** Named events (Anthropic) or bare data events (OpenAI) of an SSE body. */
function sseEvents(text: string): Array<{ event: string | null; data: string }> {
  return text
    .split('\n\n')
    .filter((e) => e.trim() !== '')
    .map((e) => ({
      event: /^event: (.*)$/m.exec(e)?.[1] ?? null,
      data: e.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'),
    }))
}

/** The hold minus the output part of the worst case plus what was delivered: the input estimate and the delivered output. */
const partialCharge = (row: UsageRow, outputRate: number, deliveredBytes: number) => row.reserved - MAX_TOKENS * outputRate + deliveredBytes * outputRate

// The mock streams its 29-character answer in 5 pieces; the damaged streams keep the first 2 ("Hello", " from ").
const DELIVERED_BEFORE_DAMAGE = Buffer.byteLength('Hello from ')

/**
 * What an Anthropic stream cut after its message_start pays: the input it stated, at 4 a token, and the output
 * delivered at 20. The mock states USER_TEXT as ceil(17 bytes / 4) + 3 for its message = 8 tokens.
 */
const STATED_INPUT_TOKENS = 8
const statedInputCharge = (deliveredBytes: number) => STATED_INPUT_TOKENS * 4 + deliveredBytes * 20

interface Refusal {
  behavior: MockBehavior
  status: number
  anthropicType: string
  openAICode: string
}

const BEFORE_OUTPUT: Refusal[] = [
  { behavior: 'reset', status: 502, anthropicType: 'api_error', openAICode: 'upstream_error' },
  { behavior: 'hang', status: 504, anthropicType: 'timeout_error', openAICode: 'upstream_timeout' },
  { behavior: 'fail-500', status: 502, anthropicType: 'api_error', openAICode: 'upstream_error' },
  { behavior: 'fail-400', status: 400, anthropicType: 'invalid_request_error', openAICode: 'upstream_rejected' },
  { behavior: 'fail-429', status: 429, anthropicType: 'rate_limit_error', openAICode: 'upstream_rate_limited' },
]

/**
 * What a fault before any output costs: nothing, the provider made nothing — but for our own timeout, when the
 * provider had the request: a JSON call pays its whole hold, a stream its input estimate (as a cut one).
 */
function expectCharge(f: Refusal, stream: boolean, row: UsageRow): void {
  if (f.behavior !== 'hang') return expect(row).toMatchObject({ status: 'error', cost: 0 })
  expect(row.status).toBe('error')
  expect(row.cost).toBe(stream ? partialCharge(row, 20, 0) : row.reserved)
}

describe('faults before any output: a clear error in the route\'s format; released, but for a timeout or an unusable 2xx answer', () => {
  for (const f of BEFORE_OUTPUT) {
    for (const stream of [false, true]) {
      test(`/v1/messages (${stream ? 'stream' : 'JSON'}), upstream ${f.behavior} → ${f.status}`, async () => {
        mock.queue(f.behavior)
        const started = performance.now()
        const row = await settledRow(gw, 'team-faults', async () => {
          const res = await messages({ stream })
          expect(res.status).toBe(f.status)
          expect(res.headers.get('content-type')).toContain('application/json')
          const body = (await res.json()) as any
          expect(body).toEqual({ type: 'error', error: { type: f.anthropicType, message: expect.any(String) } })
          expect(body.error.message).toMatch(/[Uu]pstream provider/)
          expect(JSON.stringify(body)).not.toContain('sk-ant-upstream-secret')
          if (f.behavior === 'fail-429') expect(res.headers.get('retry-after')).toBe('1')
        })
        expectCharge(f, stream, row)
        if (f.behavior === 'hang') {
          expect(performance.now() - started).toBeGreaterThanOrEqual(UPSTREAM_TIMEOUT_MS - 50)
          expect(mock.aborts).toBe(1) // the timeout cancelled the upstream call
        }
      })
    }

    test(`translated chat stream (→ Anthropic provider), upstream ${f.behavior} → ${f.status}`, async () => {
      mock.queue(f.behavior)
      const row = await settledRow(gw, 'team-faults', async () => {
        const res = await chat({ stream: true })
        expect(res.status).toBe(f.status)
        const body = (await res.json()) as any
        expect(body).toEqual({ error: { message: expect.stringMatching(/[Uu]pstream provider/), type: expect.any(String), code: f.openAICode, param: null } })
      })
      expectCharge(f, true, row)
    })
  }

  test('/v1/messages, upstream answers malformed JSON → 502 api_error, its whole hold paid (the provider answered)', async () => {
    mock.queue('malformed-json')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages()
      expect(res.status).toBe(502)
      expect(await res.json()).toEqual({ type: 'error', error: { type: 'api_error', message: 'Upstream provider sent a malformed answer.' } })
    })
    expect(row).toMatchObject({ status: 'error', cost: row.reserved })
  })

  test('translated chat JSON (→ Anthropic provider), upstream answers malformed JSON → 502 in OpenAI\'s format, its whole hold paid', async () => {
    mock.queue('malformed-json')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await chat()
      expect(res.status).toBe(502)
      expect(((await res.json()) as any).error).toMatchObject({ code: 'upstream_error', message: 'Upstream provider sent a malformed answer.' })
    })
    expect(row).toMatchObject({ status: 'error', cost: row.reserved })
  })

  test('/v1/messages translated to an OpenAI provider, upstream 500 → 502 in Anthropic\'s format, released', async () => {
    mock.queue('fail-500')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ model: 'mock:gpt-mock', stream: true })
      expect(res.status).toBe(502)
      expect(((await res.json()) as any).error.type).toBe('api_error')
    })
    expect(row).toMatchObject({ status: 'error', cost: 0 })
  })

  test('a stream that stalls past the idle timeout before any output ends with an error event, charged the input its message_start stated', async () => {
    mock.options = { ...mock.options, chunkDelayMs: IDLE_TIMEOUT_MS * 3 }
    mock.queue('slow-stream')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ stream: true })
      expect(res.status).toBe(200)
      const events = sseEvents(await res.text())
      expect(events[0]!.event).toBe('message_start')
      expect(events.at(-1)!.event).toBe('error')
      expect(JSON.parse(events.at(-1)!.data)).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('failed') } })
    })
    // The provider had the prompt: our idle timeout cut it, as a client would have.
    expect(row).toMatchObject({ status: 'error', cost: statedInputCharge(0) })
    expect(row.cost).toBeLessThan(partialCharge(row, 20, 0))
    expect(mock.aborts).toBe(1)
  })
})

describe('damaged streams after some output: the client gets an error event in its format, the ledger the right charge', () => {
  test('/v1/messages, malformed SSE: the bad event is not forwarded; error event; charged the stated input + delivered output', async () => {
    mock.queue('malformed-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ stream: true })
      expect(res.status).toBe(200)
      const text = await res.text()
      expect(text).not.toContain('this is not an sse line')
      const events = sseEvents(text)
      expect(events.filter((e) => e.event === 'content_block_delta').length).toBe(2)
      expect(events.at(-1)).toEqual({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'The upstream stream sent a malformed event.' } }) })
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(statedInputCharge(DELIVERED_BEFORE_DAMAGE))
    expect(row.cost).toBeGreaterThan(0)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
  })

  test('/v1/messages, truncated SSE (no message_stop): error event; charged the estimate', async () => {
    mock.queue('truncated-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ stream: true })
      expect(res.status).toBe(200)
      const events = sseEvents(await res.text())
      expect(events.some((e) => e.event === 'message_stop')).toBe(false)
      expect(events.at(-1)!.event).toBe('error')
      expect(JSON.parse(events.at(-1)!.data).error.message).toContain('ended before it finished')
    })
    expect(row).toMatchObject({ status: 'error' })
    expect(row.cost).toBe(row.reserved)
  })

  test('/v1/messages, the official client sees a damaged stream as an APIError, not a parse failure', async () => {
    mock.queue('malformed-sse')
    const client = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0 })
    const error = await client.messages
      .stream({ model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: USER_TEXT }] })
      .finalMessage()
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'api_error' } })
    await gw.settled()
  })

  test('/v1/messages, a stream without usage: charged the estimate', async () => {
    mock.queue('no-usage')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ stream: true })
      const events = sseEvents(await res.text())
      expect(events.at(-1)!.event).toBe('message_stop')
    })
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(row.reserved)
  })

  test('translated chat stream, malformed SSE: OpenAI error event after the delivered chunks; partial charge', async () => {
    mock.queue('malformed-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await chat({ stream: true })
      expect(res.status).toBe(200)
      const events = sseEvents(await res.text())
      const content = events.slice(0, -1).map((e) => JSON.parse(e.data).choices[0].delta.content ?? '').join('')
      expect(content).toBe('Hello from ')
      expect(JSON.parse(events.at(-1)!.data)).toEqual({ error: { message: 'The upstream stream sent a malformed event.', type: 'api_error', code: 'upstream_error', param: null } })
      expect(events.some((e) => e.data === '[DONE]')).toBe(false)
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(statedInputCharge(DELIVERED_BEFORE_DAMAGE))
  })

  test('translated chat stream, truncated SSE: OpenAI error event; charged the estimate; the openai client throws an APIError', async () => {
    mock.queue('truncated-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
      const stream = await client.chat.completions.create({ model: 'mockant:claude-mock', max_tokens: MAX_TOKENS, stream: true, messages: [{ role: 'user', content: USER_TEXT }] })
      let text = ''
      const error = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ''
      })().catch((e) => e)
      expect(text).toBe('Hello from ')
      expect(error).toBeInstanceOf(OpenAI.APIError)
      expect(error.message).toContain('ended before it finished')
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })

  test('translated chat stream without usage: completes, charged the estimate', async () => {
    mock.queue('no-usage')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await chat({ stream: true, stream_options: { include_usage: true } })
      const events = sseEvents(await res.text())
      expect(events.at(-1)!.data).toBe('[DONE]')
    })
    expect(row.status).toBe('ok')
    expect(row.cost).toBe(row.reserved)
  })

  test('/v1/messages translated to an OpenAI provider, malformed SSE: Anthropic error event; upstream cut; partial charge', async () => {
    mock.queue('malformed-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ model: 'mock:gpt-mock', stream: true })
      expect(res.status).toBe(200)
      const events = sseEvents(await res.text())
      expect(events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text).join('')).toBe('Hello from ')
      expect(events.at(-1)).toEqual({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'The upstream stream sent a malformed event.' } }) })
    })
    // The upstream-side meter meets the bad event first: a failed stream, not a client that left.
    expect(row.status).toBe('error')
    expect(row.cost).toBe(partialCharge(row, 3, DELIVERED_BEFORE_DAMAGE))
  })

  test('/v1/messages translated to an OpenAI provider, truncated SSE: Anthropic error event; charged the estimate', async () => {
    mock.queue('truncated-sse')
    const row = await settledRow(gw, 'team-faults', async () => {
      const res = await messages({ model: 'mock:gpt-mock', stream: true })
      const events = sseEvents(await res.text())
      expect(events.some((e) => e.event === 'message_stop')).toBe(false)
      expect(events.at(-1)!.event).toBe('error')
    })
    expect(row.status).toBe('error')
    expect(row.cost).toBe(row.reserved)
  })
})

describe('a client that goes away mid-stream: the upstream call is aborted and the partial output charged, never more than the hold', () => {
  async function readThenCancel(res: Response, events: number) {
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let seen = 0
    while (seen < events) {
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended before the client cancelled')
      seen += new TextDecoder().decode(value).split('\n\n').filter((e) => e.includes('data:')).length
    }
    await reader.cancel()
    for (let i = 0; i < 100 && mock.aborts === 0; i++) await Bun.sleep(10)
    expect(mock.aborts).toBe(1)
    await Bun.sleep(20)
  }

  for (const [name, send] of [
    ['/v1/messages', () => messages({ stream: true })],
    ['translated chat stream', () => chat({ stream: true })],
    ['/v1/messages translated to an OpenAI provider', () => messages({ model: 'mock:gpt-mock', stream: true })],
  ] as const) {
    test(name, async () => {
      mock.options = { ...mock.options, chunks: 30, chunkDelayMs: 20 }
      const row = await settledRow(gw, 'team-faults', async () => readThenCancel(await send(), 5))
      expect(row.status).toBe('aborted')
      expect(row.cost).toBeGreaterThan(0)
      expect(row.cost).toBeLessThanOrEqual(row.reserved)
    })
  }
})

describe('the idle timeout is the provider\'s silence, not the client\'s pause', () => {
  test('a provider that sent its whole answer while our client paused reading past the idle timeout is not cut: the client gets it all, billed from its usage', async () => {
    const words = Array.from({ length: 200_000 }, (_, i) => `word${i}`).join(' ')
    const fast = startMockProvider({ chunks: 40_000, chunkDelayMs: 0, completionText: words })
    const paused = await startTestGateway({ mock: fast, config: { pricing: PRICING, upstream_idle_timeout_ms: IDLE_TIMEOUT_MS } })
    try {
      const { secret } = await paused.userWithKey({ id: 'pauser', max_budget: 10 })
      const res = await fetch(`${paused.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, max_tokens: 300_000, messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(res.status).toBe(200)
      const reader = res.body!.getReader()
      const decoder = new TextDecoder()
      let text = decoder.decode((await reader.read()).value, { stream: true })
      // The answer (far more than the sockets' buffers hold) waits in them while the client looks away.
      await Bun.sleep(IDLE_TIMEOUT_MS * 4)
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
      }
      await paused.settled()
      const row = paused.query('SELECT status, completion_tokens FROM usage')[0]
      expect(row).toEqual({ status: 'ok', completion_tokens: 200_000 })
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true)
      expect(text).not.toContain('The upstream stream failed')
      expect(fast.aborts).toBe(0)
    } finally {
      await paused.stop()
      await fast.stop()
    }
  }, 30_000)
})
