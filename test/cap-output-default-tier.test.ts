import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant, and the estimate is priced "at the
 * dearest applicable rate". A request that asks for no service tier (or no inference geography) may be
 * served at a dearer one the provider applies by default: an OpenAI project whose default tier is
 * `priority` answers `service_tier: "priority"`; an Anthropic workspace whose `default_inference_geo` is
 * `us` answers `usage.inference_geo: "us"`. Settlement bills the reported multiplier (README "Tiers",
 * "Inference geography"), so such a request is held at the dearest tier or geography priced, and a usage
 * wholly within its bounds never takes spend past max_budget. The scripted provider answers as the real
 * ones do: an explicit tier or geography as asked, none at the default.
 */

let upstream: ScriptedUpstream
let gw: TestGateway
const MAX = 1000

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      cap_output_tokens: true,
      pricing: {
        'plain:m': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } },
        'ant:m': { input_per_million: 1, output_per_million: 2, service_tiers: { inference_geo_us: 1.1 } },
      },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
})

let users = 0
const post = (secret: string, path: string, body: unknown) =>
  fetch(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** The hold this request takes, in micro-USD, learned from a user with $1 (its X-Budget-Remaining). */
async function holdOf(path: string, body: unknown): Promise<number> {
  const { secret } = await gw.userWithKey({ id: `rd-probe-${++users}`, max_budget: 1 })
  const res = await post(secret, path, body)
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  return Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
}

/** A user whose budget is exactly this request's hold sends it; returns its spend and budget in micro-USD. */
async function spendWithBudgetOfHold(path: string, body: unknown) {
  const held = await holdOf(path, body)
  const id = `rd-tight-${++users}`
  const { secret } = await gw.userWithKey({ id, max_budget: held / 1e6 })
  const res = await post(secret, path, body)
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  return { spend: Math.round(user.spend * 1e6), budget: Math.round(user.max_budget * 1e6), held }
}

describe('cap-output on: a dearer tier the provider applies by default never takes spend past max_budget', () => {
  test('chat → OpenAI-compatible, no service_tier asked; the project default answers "priority" (×2), usage within bounds', async () => {
    upstream.answer(({ body }) =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: body.model,
        // OpenAI serves an explicit tier as asked; none (or auto), at the project's default.
        service_tier: typeof body.service_tier === 'string' && body.service_tier !== 'auto' ? body.service_tier : 'priority',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
        usage: { prompt_tokens: 5, completion_tokens: body.max_tokens, total_tokens: 5 + body.max_tokens },
      }),
    )
    const body = { model: 'plain:m', max_tokens: MAX, messages: [{ role: 'user', content: 'hi' }] }
    const { spend, budget } = await spendWithBudgetOfHold('/v1/chat/completions', body)
    expect(upstream.calls.at(-1)!.body.max_tokens).toBe(MAX)
    expect(spend).toBeLessThanOrEqual(budget)
  })

  test('messages → Anthropic, no inference_geo asked; the workspace default answers "us" (×1.1), usage within bounds', async () => {
    upstream.answer(({ body }) =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 5, output_tokens: body.max_tokens, inference_geo: body.inference_geo ?? 'us' },
      }),
    )
    const body = { model: 'ant:m', max_tokens: MAX, messages: [{ role: 'user', content: 'hi' }] }
    const { spend, budget } = await spendWithBudgetOfHold('/v1/messages', body)
    expect(spend).toBeLessThanOrEqual(budget)
  })
})
