/**
 * Red team (jy): fix-answerbound (010d48bf) sizes a chat answer's bound by the hold's output tokens
 * (`estimate.outputTokens`, src/translate/relay.ts -> src/translate/answer-bound.ts). With cap-output off — the
 * default — a request that sets no max is held at TOLLGATE_DEFAULT_MAX_OUTPUT_TOKENS (4,096), but nothing is sent
 * upstream to stop the provider at 4,096: gpt-4.1 writes up to its own 32,768. README says the excess is settled from
 * the usage ("a provider that returns more output than ... the default estimate can push spend past the budget by that
 * excess"). With `top_logprobs: 20` (~1.4 KB a token) a 28,000-token answer is ~39 MB: past the bound (4,096 x 2,752 B
 * = 10.8 MiB -> the 32 MiB floor), so it is refused 502 and charged its whole hold, i.e. 4,096 output tokens, while
 * the provider bills all 28,000: the caller loses the answer and the operator pays ~6x what it charges.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { fixedJsonProvider } from './support/fixed-json-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

const TOKENS = 28_000

function tokenEntry(i: number) {
  const alt = (j: number) => ({ token: ` w${(i + j) % 997}`, logprob: -1.234567 - j, bytes: [32, 119, 49, 50, 51] })
  return { ...alt(0), top_logprobs: Array.from({ length: 20 }, (_, j) => alt(j)) }
}

const provider = fixedJsonProvider()

let gw: TestGateway
let secret: string

beforeAll(async () => {
  provider.wire = new TextEncoder().encode(JSON.stringify({
    id: 'chatcmpl-lp', object: 'chat.completion', created: 1, model: 'gpt-4.1',
    choices: [{
      index: 0,
      message: { role: 'assistant', content: 'w'.repeat(TOKENS) },
      logprobs: { content: Array.from({ length: TOKENS }, (_, i) => tokenEntry(i)) },
      finish_reason: 'stop',
    }],
    usage: { prompt_tokens: 12, completion_tokens: TOKENS, total_tokens: 12 + TOKENS },
  }))
  gw = await startTestGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `http://127.0.0.1:${provider.server.port}/v1`, api_key: 'sk-upstream-secret-0123456789' } },
      pricing: { 'oai:gpt-4.1': { input_per_million: 2, output_per_million: 8 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jy-dflt', max_budget: 10 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await provider.server.stop(true)
})

test('a top_logprobs answer past the default estimate (cap-output off, no max) is relayed and billed by its usage, not refused 502 and billed 4,096 tokens', async () => {
  console.log(`answer on the provider.wire: ${(provider.wire.byteLength / 1024 / 1024).toFixed(1)} MiB`)
  let status = 0
  let message = ''
  const row = await settledRow(gw, 'rt-jy-dflt', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'oai:gpt-4.1', logprobs: true, top_logprobs: 20, messages: [{ role: 'user', content: 'Write at length.' }] }),
    })
    status = res.status
    const body = (await res.json()) as any
    message = body.error?.message ?? ''
  })
  const usageWorth = Math.round(TOKENS * 8) // µ$ for the output alone
  console.log(`status ${status} ${message}; row ${JSON.stringify(row)}; the provider billed >= ${usageWorth} µ$`)
  expect({ status, message }).toEqual({ status: 200, message: '' })
  expect(row.status).toBe('ok')
  expect(row.cost).toBeGreaterThanOrEqual(usageWorth)
}, 60_000)
