/**
 * Mutation guard. README "Tiers" table: fast mode (Anthropic) is asked by `speed: "fast"`, and by
 * `service_tier: "fast"` towards a Claude model, and priced by `service_tiers.fast` (Claude Opus fast mode: 6×);
 * only towards another model is `service_tier: "fast"` OpenAI's new name for `priority`. A Claude row that prices
 * `priority` (say 2×) but not `fast` must refuse a `service_tier: "fast"` request 402 before the provider is called,
 * not serve it held and billed at the priority multiplier (a third of what fast mode costs).
 *
 * Kills: src/pricing/features.ts requestedTier `tier === 'fast' && !isClaudeModel(upstreamModel) ? 'priority' : tier`
 * → `tier === 'fast' ? 'priority' : tier`, which chat-speed-fast, billed-features, messages-fast-standard-service-tier
 * and feature-pricing survived.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      require_pricing: true,
      pricing: {
        'mock:claude-opus-4-6': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } },
        'mock:claude-opus-4-6-fast': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 6 } },
      },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'ku-claude-fast', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, service_tier: 'fast', messages: [{ role: 'user', content: 'hi' }] }),
  })

test('service_tier "fast" towards Claude with only a priority multiplier: 402, provider not called', async () => {
  mock.reset()
  const res = await chat('mock:claude-opus-4-6')
  const body = (await res.json()) as { error?: { code?: string; message?: string } }
  expect({ status: res.status, code: body.error?.code }).toEqual({ status: 402, code: 'pricing_required' })
  expect(body.error?.message).toContain('fast')
  expect(mock.calls.length).toBe(0)
})

test('service_tier "fast" towards Claude with a fast multiplier is served (control)', async () => {
  const res = await chat('mock:claude-opus-4-6-fast')
  expect(res.status).toBe(200)
})
