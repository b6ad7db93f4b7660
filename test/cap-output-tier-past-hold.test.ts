import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant, and the hold prices the estimate "at the
 * dearest applicable rate". Settlement bills the tier the provider reports, but with cap-output on never above the
 * rates the hold priced, as it bills no output past the bound held: a Messages answer that says it was served in
 * fast mode (`usage.speed: "fast"`) to a request that never asked for it (fast mode is only ever asked for, so never
 * held) is billed at the plain rates held. Likewise a text-only chat request whose answer counts its tokens as audio
 * (`completion_tokens_details.audio_tokens`, `prompt_tokens_details.audio_tokens`): neither audio rate was held (no
 * `modalities: ["audio"]`, no audio part), so they are billed at the text rates.
 * plain:m: 1/2 µ$ a text token in/out, 40/80 µ$ an audio token in/out; ant:m: 1/2 µ$, fast ×6.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 40, audio_output_per_million: 80 },
      'ant:m': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 6 } },
    },
  },
  (s) => ({ upstream, gw } = s),
)

let users = 0
const post = (secret: string, path: string, body: unknown) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

/** The hold this request takes, in micro-USD, learned from a user with $1 (its X-Budget-Remaining). */
async function holdOf(path: string, body: unknown): Promise<number> {
  const { secret } = await gw.userWithKey({ id: `tier-probe-${++users}`, max_budget: 1 })
  const res = await post(secret, path, body)
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  return Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
}

/** A user whose budget is exactly the request's hold sends it: its spend and budget in micro-USD, and the row. */
async function spendWithBudgetOfHold(path: string, body: unknown) {
  const held = await holdOf(path, body)
  const id = `tier-tight-${++users}`
  const { secret } = await gw.userWithKey({ id, max_budget: held / 1e6 })
  const res = await post(secret, path, body)
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${id}`)).body
  const row = gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
  return { spend: Math.round(user.spend * 1e6), budget: Math.round(user.max_budget * 1e6), row }
}

describe('cap-output on: an answer reporting a dearer tier or rate than the request asked for', () => {
  test('messages without speed, the answer says usage.speed "fast": spend stays <= max_budget', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'max_tokens',
        usage: { input_tokens: 10, output_tokens: 64, speed: 'fast' },
      }),
    )
    const { spend, budget, row } = await spendWithBudgetOfHold('/v1/messages', { model: 'ant:m', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(spend).toBeLessThanOrEqual(budget)
    // At the plain rates held: 10 in, 64 out.
    expect(row.cost).toBe(10 + 64 * 2)
  })

  test('chat asks text only, the answer counts its output as audio tokens: spend stays <= max_budget', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
        usage: { prompt_tokens: 10, completion_tokens: 64, total_tokens: 74, completion_tokens_details: { audio_tokens: 64 }, prompt_tokens_details: { audio_tokens: 10 } },
      }),
    )
    const { spend, budget, row } = await spendWithBudgetOfHold('/v1/chat/completions', { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }] })
    expect(row.cost).toBeLessThanOrEqual(row.reserved)
    expect(spend).toBeLessThanOrEqual(budget)
    // At the text rates held: 10 in, 64 out.
    expect(row.cost).toBe(10 + 64 * 2)
  })
})
