/**
 * Red team (jt): the 32 MiB bound on a JSON answer read whole (src/providers/answer-text.ts, 090e9f2f) refuses a
 * legitimate chat completion the gateway itself admitted and held for, then charges the caller its whole hold.
 *
 * README sizes the bound by one choice ("16K tokens with `top_logprobs: 20` ~25 MB") and says legit answers fit
 * ("Text of 128K output tokens is a few MB"). But the chat route accepts `n` up to 128 and holds for
 * n x max_tokens (src/budget/estimate.ts outputBound), and a logprobs answer grows with n x tokens x (top_logprobs + 1).
 * A real request — gpt-4o, `n: 2`, `max_tokens: 16384`, `logprobs: true, top_logprobs: 20` — is admitted, the
 * provider generates and bills both choices, and its compact JSON (~1.4 KB a token) is ~39 MB: the gateway answers
 * 502 "larger than the 33554432 bytes the gateway reads" and settles the whole hold (status error), where the
 * answer states its usage. Same for n: 1 on a 32K-output model (gpt-4.1) at 28K tokens.
 * The client pays for an answer it never gets; retrying non-stream never succeeds.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { fixedJsonProvider } from './support/fixed-json-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

const TOKENS_PER_CHOICE = 14_000
const N = 2

/** One token's logprobs entry as OpenAI writes it, with its 20 alternatives. */
function tokenEntry(i: number) {
  const alt = (j: number) => ({ token: ` w${(i + j) % 997}`, logprob: -1.234567 - j, bytes: [32, 119, 49, 50, 51] })
  return { ...alt(0), top_logprobs: Array.from({ length: 20 }, (_, j) => alt(j)) }
}

const provider = fixedJsonProvider()

let gw: TestGateway
let secret: string

beforeAll(async () => {
  const content = Array.from({ length: TOKENS_PER_CHOICE }, (_, i) => tokenEntry(i))
  const choice = (index: number) => ({
    index,
    message: { role: 'assistant', content: 'w'.repeat(TOKENS_PER_CHOICE) },
    logprobs: { content },
    finish_reason: 'stop',
  })
  provider.wire = new TextEncoder().encode(JSON.stringify({
    id: 'chatcmpl-lp', object: 'chat.completion', created: 1, model: 'gpt-4o',
    choices: Array.from({ length: N }, (_, i) => choice(i)),
    usage: { prompt_tokens: 12, completion_tokens: N * TOKENS_PER_CHOICE, total_tokens: 12 + N * TOKENS_PER_CHOICE },
  }))
  gw = await startTestGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `http://127.0.0.1:${provider.server.port}/v1`, api_key: 'sk-upstream-secret-0123456789' } },
      pricing: { 'oai:gpt-4o': { input_per_million: 2.5, output_per_million: 10 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jt-lp', max_budget: 10 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await provider.server.stop(true)
})

test('a real n: 2, top_logprobs: 20 chat answer the gateway admitted is relayed and billed by its usage, not refused 502 and charged its whole hold', async () => {
  console.log(`answer on the provider.wire: ${(provider.wire.byteLength / 1024 / 1024).toFixed(1)} MiB`)
  let status = 0
  let choices = 0
  let message = ''
  const row = await settledRow(gw, 'rt-jt-lp', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'oai:gpt-4o', n: N, max_tokens: 16_384, logprobs: true, top_logprobs: 20, messages: [{ role: 'user', content: 'Write at length.' }] }),
    })
    status = res.status
    const body = (await res.json()) as any
    choices = body.choices?.length ?? 0
    message = body.error?.message ?? ''
  })
  console.log(`status ${status} ${message}; row ${JSON.stringify(row)}`)
  expect({ status, choices, message }).toEqual({ status: 200, choices: N, message: '' })
  expect(row.status).toBe('ok')
  expect(row.completion_tokens).toBe(N * TOKENS_PER_CHOICE)
  expect(row.cost).toBeLessThan(row.reserved)
}, 60_000)
