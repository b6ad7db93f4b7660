import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant. A provider (an OpenAI-compatible server
 * that ignores the max it was sent, a buggy proxy) may report far more output than the bound the hold covers:
 * the output past that bound is not charged, and the gateway says so in /metrics. The input, within the input held,
 * is charged whole (input past it: cap-output-usage-input-past-hold).
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output's default max is 64 tokens.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ ...CAPPED_PLAIN_M, metrics_enabled: true }, (s) => ({ upstream, gw } = s))

const chat = (secret: string, body: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], ...body }),
  })

describe('cap-output on, a usage reporting more output than the max sent upstream', () => {
  test('a JSON answer reporting 1,000,000 output tokens for max_tokens 64 leaves spend <= max_budget', async () => {
    const { secret } = await gw.userWithKey({ id: 'cap-past-json', max_budget: 0.01 })
    upstream.answer(() =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 1_000_000, total_tokens: 1_000_010 },
      }),
    )
    const row = await settledRow(gw, 'cap-past-json', async () => {
      const res = await chat(secret)
      expect(res.status).toBe(200)
      await res.text()
    })
    // The bound cap-output sent upstream: the hold covers it.
    expect(upstream.calls[0]!.body.max_tokens).toBe(64)
    const user = (await gw.admin('GET', '/v1/users/cap-past-json')).body
    expect(user.reserved).toBe(0)
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    // The reported input, and the 64 output tokens the provider could make; the row keeps the count reported.
    expect(row.cost).toBe(10 + 64 * 2)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(row.completion_tokens).toBe(1_000_000)
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
    expect(metrics).toMatch(/tollgate_unbilled_output_tokens_total\{[^}]*provider="plain"[^}]*\} 999936\b/)
  })

  test('a stream whose usage reports 1,000,000 output tokens for the client\'s max_tokens 100 is charged within its hold', async () => {
    const { secret } = await gw.userWithKey({ id: 'cap-past-stream', max_budget: 0.01 })
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })
    upstream.answer(() =>
      sseResponse([
        chunk({ role: 'assistant', content: 'ok' }),
        chunk({}, 'stop'),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 1_000_000, total_tokens: 1_000_010 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    const row = await settledRow(gw, 'cap-past-stream', async () => {
      const res = await chat(secret, { stream: true, max_tokens: 100 })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.cost).toBe(10 + 100 * 2)
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    const user = (await gw.admin('GET', '/v1/users/cap-past-stream')).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  })
})
