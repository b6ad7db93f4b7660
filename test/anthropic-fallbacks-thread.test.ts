import { beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Two fields of Anthropic's beta Messages params (@anthropic-ai/sdk 1.12) that change what Anthropic bills in
 * ways a hold cannot bound: server-side `fallbacks` (another model, its own max_tokens, every attempt billed) and
 * a continued `thread` (a stored conversation prepended as input). Both are refused before any hold or call
 * (before: served, 40,042 µ$ on a 93 µ$ hold; 120,010 µ$ past a 50,000 µ$ budget). Cap-output on: the hold must
 * be a hard bound (SPEC §6, `spend <= max_budget`).
 * Rates: $1/M input, $2/M output, so a token costs exactly 1 or 2 micro-USD.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'team-rt-ap'
const BUDGET_USD = 0.05 // 50,000 micro-USD
const ask = [{ role: 'user', content: 'hi' }]

withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } },
  },
  (started) => ({ upstream, gw } = started),
)
beforeAll(async () => {
  secret = (await gw.userWithKey({ id: USER, max_budget: BUDGET_USD })).secret
})
beforeEach(async () => {
  // Each test starts from an empty ledger for the user.
  await gw.settled()
  gw.exec('UPDATE users SET spend = 0 WHERE id = ?', USER)
})

const anthropicMessage = (usage: Record<string, unknown>, content: unknown[] = [{ type: 'text', text: 'ok' }]) =>
  jsonResponse({ id: 'msg_rt_ap', type: 'message', role: 'assistant', model: 'm', content, stop_reason: 'end_turn', stop_sequence: null, usage })

const post = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const spendMicros = async () => Math.round((await gw.admin('GET', `/v1/users/${USER}`)).body.spend * 1e6)
const usageRows = () => gw.query('SELECT count(*) AS n FROM usage')[0].n as number

describe('Anthropic server-side fallbacks (`fallbacks`): another model, another max_tokens, a second pass', () => {
  // Beta `server-side-fallback-2026-07-01`: when the requested model declines, Anthropic retries the request on each
  // `fallbacks` entry's model (or on its own recommended one, `"default"`), with that entry's `max_tokens` in place of the
  // request's, and bills every attempt: `usage.iterations` lists a `fallback_message` with its `model`. The gateway holds
  // one pass of `max_tokens` at the requested model's rates, and settles every iteration at those rates too.
  const BETA = { 'anthropic-beta': 'server-side-fallback-2026-07-01' }
  const FALLBACK_USAGE = {
    input_tokens: 40, output_tokens: 20_001,
    iterations: [
      { type: 'message', model: 'm', input_tokens: 20, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
      { type: 'fallback_message', model: 'claude-opus-4-7', input_tokens: 20, output_tokens: 20_000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    ],
  }

  test('fallbacks naming models (with a larger max_tokens) or "default": refused (400/402) before any hold or upstream call', async () => {
    for (const fallbacks of [[{ model: 'claude-opus-4-7', max_tokens: 20_000 }], 'default'] as const) {
      upstream.calls.length = 0
      const rows = usageRows()
      upstream.answer(() => anthropicMessage(FALLBACK_USAGE))
      const { status, text } = await post({ model: 'ant:m', max_tokens: 10, messages: ask, fallbacks }, BETA)
      await gw.settled()
      const row = gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]
      const seen = `status ${status}, upstream calls ${upstream.calls.length}, last row ${JSON.stringify(row)}, ${text.slice(0, 200)}`
      expect(upstream.calls.length, seen).toBe(0)
      // 400 feature_unsupported (as the advisor tool) or 402 pricing_required naming the fallback: either, before any call.
      expect([400, 402], seen).toContain(status)
      expect(usageRows()).toBe(rows)
    }
  })

  test('cap-output on: a served fallback never takes spend past max_budget', async () => {
    // 20,000 output tokens at $2/M is 40,000 µ$; the hold covers max_tokens 10. Twice that passes the $0.05 budget.
    upstream.answer(() => anthropicMessage(FALLBACK_USAGE))
    for (let i = 0; i < 2; i++) await post({ model: 'ant:m', max_tokens: 10, messages: ask, fallbacks: [{ model: 'claude-opus-4-7', max_tokens: 20_000 }] }, BETA)
    await gw.settled()
    expect(await spendMicros()).toBeLessThanOrEqual(BUDGET_USD * 1e6)
  })
})

describe('Anthropic server-held conversation state (`thread: {type: "continue"}`): input the body does not show', () => {
  // `thread: {type: 'continue', previous_message_id}` resumes a Thread the server holds, "so only the new turn's messages
  // are sent": Anthropic prepends the stored conversation and bills it as input. The gateway sizes the body only (as it
  // does for a Responses `previous_response_id` it never recorded, it cannot know that size).
  test('continuing a thread the gateway cannot size is refused before any upstream call; spend stays within max_budget', async () => {
    const rows = usageRows()
    // The stored conversation: 120,000 tokens of input (120,000 µ$), past the whole $0.05 budget.
    upstream.answer(() => anthropicMessage({ input_tokens: 120_000, output_tokens: 5 }))
    const { status, text } = await post({ model: 'ant:m', max_tokens: 10, messages: [{ role: 'user', content: 'and then?' }], thread: { type: 'continue', previous_message_id: 'msg_01UnknownToTheGateway' } })
    await gw.settled()
    const row = gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]
    const seen = `status ${status}, upstream calls ${upstream.calls.length}, last row ${JSON.stringify(row)}, spend ${await spendMicros()} µ$ of ${BUDGET_USD * 1e6}, ${text.slice(0, 200)}`
    expect(await spendMicros(), seen).toBeLessThanOrEqual(BUDGET_USD * 1e6)
    expect(upstream.calls.length, seen).toBe(0)
    expect(usageRows()).toBe(rows)
  })
})

test('a thread created (not continued), and fallbacks empty or null, are served as before', async () => {
  for (const extra of [{ thread: { type: 'create' } }, { fallbacks: [] }, { fallbacks: null }, { thread: null }]) {
    upstream.calls.length = 0
    upstream.answer(() => anthropicMessage({ input_tokens: 8, output_tokens: 2 }))
    const { status, text } = await post({ model: 'ant:m', max_tokens: 10, messages: ask, ...extra })
    expect(status, `${JSON.stringify(extra)}: ${text.slice(0, 200)}`).toBe(200)
    expect(upstream.calls.length).toBe(1)
  }
  await gw.settled()
})
