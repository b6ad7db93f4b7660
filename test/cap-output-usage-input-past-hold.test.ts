import { describe, expect, test } from 'bun:test'
import type { Hold } from '../src/budget/hold'
import { streamOutcome } from '../src/metering/outcome'
import { NO_FEATURES, type Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, anthropicEvent, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant, and the input estimate bounds a request's
 * input ("a token is at least one byte"). A provider (a buggy proxy, a compatible server's miscount, a 2^63 glitch,
 * read as the billion-token MAX_TOKEN_COUNT) that reports far more input than a request of text alone can carry is
 * charged the input held, no more, as output past the max sent is (cap-output-usage-past-bound).
 * plain:m / ant:m cost 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { ...CAPPED_PLAIN_M, metrics_enabled: true, pricing: { ...CAPPED_PLAIN_M.pricing, 'ant:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

const BUDGET = 0.01
const post = (secret: string, path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function spendAfter(id: string, path: string, body: Record<string, unknown>, answer: () => Response) {
  const { secret } = await gw.userWithKey({ id, max_budget: BUDGET })
  upstream.answer(answer)
  const row = await settledRow(gw, id, async () => {
    const res = await post(secret, path, body)
    expect(res.status).toBe(200)
    await res.text()
  })
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  return { row, user }
}

const completion = (usage: unknown) => ({
  id: 'c1', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage,
})

describe('cap-output on: a usage reporting more input than a text-only request can carry', () => {
  test('chat JSON, prompt_tokens 2^63 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('in-2p63', '/v1/chat/completions', { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }] }, () =>
      new Response(JSON.stringify(completion({ prompt_tokens: 1, completion_tokens: 5, total_tokens: 6 })).replace('"prompt_tokens":1', '"prompt_tokens":9223372036854775808'), {
        headers: { 'content-type': 'application/json' },
      }),
    )
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
    // The row keeps the count reported (the billion MAX_TOKEN_COUNT reads it as); /metrics says what went unbilled.
    expect(row.prompt_tokens).toBe(1_000_000_000)
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect(metrics).toMatch(/tollgate_unbilled_input_tokens_total\{[^}]*provider="plain"[^}]*\} 99999\d{4}\b/)
  })

  test('chat stream, usage chunk with prompt_tokens 5,000,000 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('in-stream', '/v1/chat/completions', { model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'hi' }] }, () =>
      sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', model: 'm', choices: [], usage: { prompt_tokens: 5_000_000, completion_tokens: 1, total_tokens: 5_000_001 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })

  test('messages stream to Anthropic, message_start input_tokens 5,000,000 for "hi": spend stays <= max_budget', async () => {
    const { row, user } = await spendAfter('in-ant', '/v1/messages', { model: 'ant:m', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }, () =>
      sseResponse([
        anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 5_000_000, output_tokens: 1 } } }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(user.spend).toBeLessThanOrEqual(BUDGET)
  })
})

describe('cap-output on: a request with media, whose input no estimate bounds', () => {
  test('an image by URL reported at more input than held is charged its input whole (README, Overshoot: the exceptions)', async () => {
    const content = [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }]
    const { row } = await spendAfter('in-media', '/v1/chat/completions', { model: 'plain:m', messages: [{ role: 'user', content }] }, () =>
      new Response(JSON.stringify(completion({ prompt_tokens: 5_000_000, completion_tokens: 1, total_tokens: 5_000_001 })), { headers: { 'content-type': 'application/json' } }),
    )
    expect(row.cost).toBe(5_000_000 + 2)
  })
})

describe('unit: a stream cut after stating more input than held', () => {
  // 10 µ$ an input token, 1 µ$ a cache read, 20 µ$ an output token.
  const price: Price = { id: 1, model: 'ant:m', inputPerMillion: 10_000_000, cachedInputPerMillion: 1_000_000, outputPerMillion: 20_000_000, perRequest: null, createdAt: 0 }
  const estimate = { inputTokens: 1_000, outputTokens: 64, boundsInput: true }
  const hold = { amount: 1_000 * 10 + 64 * 20 } as Hold
  const cut = (inputBound?: number) =>
    streamOutcome(
      {
        end: 'cancelled', usage: null, deliveredOutputBytes: 2,
        statedInput: { counts: { promptTokens: 5_000_000, completionTokens: 0, cachedTokens: 4_000_000 }, mayGrow: false },
      },
      { price, features: NO_FEATURES, outputBound: 64, inputBound },
      estimate, hold, 1, true,
    )

  test("message_start's input is charged up to the input held, its cache reads in the share it stated", () => {
    const outcome = cut(1_000)
    // 1,000 input tokens, 4/5 of them cache reads, and the 2 output tokens delivered.
    expect(outcome.cost).toBe(200 * 10 + 800 * 1 + 2 * 20)
    expect(outcome.cost).toBeLessThanOrEqual(hold.amount)
    expect(outcome.unbilledInputTokens).toBe(4_999_000)
    expect(outcome.promptTokens).toBe(5_000_000)
  })

  test('without an input bound (a request with media), the stated input is charged whole', () => {
    const outcome = cut(undefined)
    expect(outcome.cost).toBe(1_000_000 * 10 + 4_000_000 * 1 + 2 * 20)
    expect(outcome.unbilledInputTokens).toBeUndefined()
  })
})
