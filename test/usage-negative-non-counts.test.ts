import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Only the counts a usage is read for make it no usage when negative (usage-negative-counts). Usages carry other
 * numbers: Groq's timings (`queue_time`, seconds from two clocks, negative when they skew), OpenRouter's `cost`
 * (a credit), xAI's `cost_in_usd_ticks`. One of those beside truthful counts is billed by the counts, not the hold.
 * plain:m: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('neg-noncount'))
})
afterAll(() => stop())

const completion = (usage: Record<string, unknown>) => () =>
  new Response(JSON.stringify({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there' }, finish_reason: 'stop' }],
    usage,
  }), { headers: { 'content-type': 'application/json' } })

async function billed(answer: () => Response) {
  upstream.answer(answer)
  return settledRow(gw, 'neg-noncount', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 1000, messages: [{ role: 'user', content: 'word '.repeat(200) }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('a negative number that is no token count does not unmake a usage', () => {
  test("Groq-shaped usage with queue_time -0.0001: billed by its counts, not its hold", async () => {
    const row = await billed(completion({ queue_time: -0.0001, prompt_tokens: 210, prompt_time: 0.01, completion_tokens: 3, completion_time: 0.002, total_tokens: 213, total_time: 0.012 }))
    expect(row.prompt_tokens).toBe(210)
    expect(row.cost).toBe(210 * 1 + 3 * 2)
  })

  test('usage with a cost credit (cost -0.00001) beside its counts: billed by its counts', async () => {
    const row = await billed(completion({ prompt_tokens: 210, completion_tokens: 3, total_tokens: 213, cost: -0.00001 }))
    expect(row.prompt_tokens).toBe(210)
    expect(row.cost).toBe(210 * 1 + 3 * 2)
  })
})
