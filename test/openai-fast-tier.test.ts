import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: an OpenAI answer that says it was served at `service_tier: "fast"` (OpenAI's name
 * for `priority`, src/translate/usage.ts `reportedTier`) is billed at the row's `priority` multiplier, even when the
 * request left the tier to the project's default (no `service_tier`: an OpenAI project may default to priority).
 * SPEC/README: the tier billed is the one the provider reports. No test sends a reported "fast" tier to a row that
 * prices only `priority`, so dropping the fast → priority mapping billed priority tokens at the plain rates.
 *
 * plain:m: 1 µ$ an input token, 2 µ$ an output token, priority ×2.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } } }, (s) => ({ upstream, gw } = s))

const usage = { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500 }
const chat = { model: 'plain:m', max_tokens: 1_000, messages: [{ role: 'user', content: 'Hello' }] }

async function billed(user: string, body: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('a reported service_tier "fast" is billed at the priority multiplier', () => {
  test('JSON answer', async () => {
    // Mutant killed: reportedTier's `tier === 'fast' ? 'priority' : tier` → `tier`.
    upstream.answer(() =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm', service_tier: 'fast',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage,
      }),
    )
    const row = await billed('kc-fast-json', chat)
    expect(row.cost).toBe((1_000 + 500 * 2) * 2) // 4,000 µ$; at the plain rates 2,000
  })

  test('stream: the usage chunk stamped with the tier', async () => {
    const chunk = (extra: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', service_tier: 'fast', ...extra })
    upstream.answer(() =>
      sseResponse([
        chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }),
        chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        chunk({ choices: [], usage }),
        openAIEvent('[DONE]'),
      ]),
    )
    const row = await billed('kc-fast-sse', { ...chat, stream: true, stream_options: { include_usage: true } })
    expect(row.cost).toBe(4_000)
  })
})
