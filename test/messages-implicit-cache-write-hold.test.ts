import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An Anthropic-type provider that serves models other than Claude: OpenRouter's Anthropic-compatible endpoint (the
 * README's "Messages (to OpenRouter's Anthropic-compatible endpoint)") serves OpenAI's GPT-5.6 among them, whose
 * prompt cache OpenAI writes by itself, no `cache_control` asked, and bills at 1.25× input, reported as
 * `cache_creation_input_tokens`. The gateway held such writes on chat and Responses to OpenAI-type providers
 * (test/implicit-cache-write-hold.test.ts) but every request to an Anthropic-type provider at the plain input rate:
 * with cap-output on (SPEC §6: `spend <= max_budget`), a first request whose whole prompt was written spent
 * 50,128 µ$ on a budget of its hold, 40,157. Claude writes only what `cache_control` marks, so a request to Claude
 * without one is still held at the input rate.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const TEXT = 'x'.repeat(40_000)
// A token is at least a byte: the prompt the provider counts is at most its bytes (the estimate's own bound).
const PROMPT = TEXT.length
const RATES = { input_per_million: 1, output_per_million: 8, cached_input_per_million: 0.1, cache_write_per_million: 1.25 }

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'ant:openai/gpt-5.6': RATES,
      'ant:claude-sonnet-4-6': RATES,
      // The SPEC's fields only: reported writes are billed at the unset-rate fallback, 1.25× input.
      'ant:openai/gpt-5.6-mini': { input_per_million: 1, output_per_million: 8, cached_input_per_million: 0.1 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** The whole prompt written to the cache (a first request), reported in the Anthropic usage shape. */
const writeItAll = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'max_tokens', stop_sequence: null,
    usage: { input_tokens: 0, cache_creation_input_tokens: PROMPT, cache_read_input_tokens: 0, output_tokens: body.max_tokens },
  })

const messages = (model: string) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: TEXT }] })
const cases: [string, string, unknown][] = [
  ['native Messages', '/v1/messages', messages('ant:openai/gpt-5.6')],
  ['chat translated to Messages', '/v1/chat/completions', messages('ant:openai/gpt-5.6')],
  ['Responses translated to Messages', '/v1/responses', { model: 'ant:openai/gpt-5.6', max_output_tokens: 16, store: false, input: TEXT }],
  ['native Messages, a row without a write rate', '/v1/messages', messages('ant:openai/gpt-5.6-mini')],
]
for (const [route, path, body] of cases)
  test(`cap-output on: an unasked cache write by a model other than Claude on ${route} never takes spend past max_budget`, async () => {
    upstream.answer(writeItAll)
    const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `unasked-write-${route.replace(/\W+/g, '-')}`)
    expect(JSON.stringify(upstream.calls.at(-1)!.body)).not.toContain('cache_control')
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })

test('a request to Claude without cache_control is held at the input rate, not the write rate', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_2', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: PROMPT, output_tokens: body.max_tokens },
    }),
  )
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', messages('ant:claude-sonnet-4-6'), 'claude-no-marker')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
  // Held at the write rate it would be ~50,200 µ$; at the input rate it is its ~40,000 bytes' input plus 16 × 8 output.
  expect(budget).toBeLessThan(PROMPT * 1.25)
})
