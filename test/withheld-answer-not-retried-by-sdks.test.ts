/**
 * An answer withheld because the database did not take its ids in time (a stored Responses answer's, a Messages
 * container's: test/responses-stored-ids-file-locked.test.ts) is paid by its usage. It used to carry `Retry-After: 1`,
 * so `x-should-retry: true`, and the official SDKs sent it again unasked (twice by default): once the lock was gone
 * the retry reached the provider and was paid again. A paid error says `x-should-retry: false`: one SDK call, one
 * provider call, one charge.
 */
import { Database } from 'bun:sqlite'
import { expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { BUSY_TIMEOUT_MS } from '../src/db/open'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 1 },
      'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** Takes the file's write lock from another connection now, and lets it go after `ms`. */
function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('BEGIN IMMEDIATE')
  return Bun.sleep(ms).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
}

/**
 * Answers every provider call with `answer(n)`; only the first finds the file locked (an operator's backup, a sqlite3
 * shell) a little past the busy timeout. Runs `call` as a client does and returns what it and the provider saw.
 */
async function withheldOnce(userId: string, answer: (n: number) => Response, call: () => Promise<unknown>) {
  let held: Promise<void> = Promise.resolve()
  const before = upstream.calls.length
  let n = 0
  upstream.answer(() => {
    if (++n === 1) held = holdWriteLock(BUSY_TIMEOUT_MS + 500)
    return answer(n)
  })
  const outcome = await call().then(
    () => ({ status: 200, shouldRetry: null }),
    (e: any) => ({ status: e?.status, shouldRetry: e?.headers?.get?.('x-should-retry') ?? null }),
  )
  await held
  await gw.settled()
  const charged = gw.query<{ status: string }>('SELECT status FROM usage WHERE user_id = ? ORDER BY id', userId)
  return { ...outcome, providerCalls: upstream.calls.length - before, charged: charged.map((r) => r.status) }
}

test('openai SDK: a withheld stored Responses answer is not sent again: one provider call, one charge', async () => {
  const { secret } = await gw.userWithKey({ id: 'withheld-responses', max_budget: 1 })
  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1` }) // default maxRetries: 2
  const seen = await withheldOnce(
    'withheld-responses',
    (n) =>
      jsonResponse({
        id: `resp_w${n}`, object: 'response', created_at: 1, status: 'completed', model: 'm', store: true,
        output: [{ id: `msg_w${n}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], text: 'ok' }] }],
        usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 },
      }),
    () => client.responses.create({ model: 'plain:m', input: 'hello', max_output_tokens: 16 }),
  )
  expect(seen).toEqual({ status: 503, shouldRetry: 'false', providerCalls: 1, charged: ['error'] })
}, 40_000)

test('anthropic SDK: a Messages answer withheld for its container is not sent again: one provider call, one charge', async () => {
  const { secret } = await gw.userWithKey({ id: 'withheld-container', max_budget: 5 })
  const client = new Anthropic({ apiKey: secret, baseURL: gw.url }) // default maxRetries: 2
  const seen = await withheldOnce(
    'withheld-container',
    (n) =>
      jsonResponse({
        id: `msg_c${n}`, type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 20, output_tokens: 1 }, container: { id: `container_withheld_${n}`, expires_at: '2026-12-05T00:00:00Z' },
      }),
    () =>
      client.messages.create({
        model: 'ant:m', max_tokens: 16, messages: [{ role: 'user', content: 'analyse' }], tools: [{ type: 'code_execution_20250825', name: 'code_execution' }],
      }),
  )
  expect(seen).toEqual({ status: 503, shouldRetry: 'false', providerCalls: 1, charged: ['error'] })
}, 40_000)
