import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6: "Upstream error before any output: release (no charge)" and "A request the provider received is
 * never free". A 2xx JSON answer that carries generated output *and* an `error` field, without a usage, is
 * not an error before any output: the provider generated that output and bills it. OpenRouter documents
 * exactly this ("any error occurred while the LLM is producing the output will be emitted in the response
 * body", HTTP 200), and a failed Responses object has `status: "failed"`, an `error` and the output made so
 * far. Such an answer must be paid as an answer without usage (its whole hold, as README "A 2xx answer that
 * cannot be used is not free" and test/json-zero-usage-beside-output.test.ts do for the same output beside a
 * usage of zeros), not released at $0 as a body that is *only* an error is (test/error-body.test.ts).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

const USER = 'team-error-beside-output'
/** About 6 KB of generated text the provider made before it failed. */
const PARTIAL = 'Once upon a time, '.repeat(350)

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const post = (path: string, body: Record<string, unknown>) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function lastRow(run: () => Promise<void>) {
  await gw.settled()
  const before = (await gw.admin('GET', `/v1/users/${USER}`)).body
  await run()
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${USER}`)).body
  expect(after.reserved).toBe(0)
  const row = gw.query<{ status: string; cost: number; reserved: number }>('SELECT status, cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
  return { row, charged: Math.round((after.spend - before.spend) * 1e6) }
}

describe('a 200 JSON answer with generated output beside an `error` (no usage) is paid, not released', () => {
  test('chat → OpenAI-compatible (OpenRouter-style mid-generation error): charged its hold', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'gen-1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: PARTIAL }, finish_reason: 'error' }],
        error: { code: 502, message: 'Upstream model provider failed mid-generation' },
      }),
    )
    const { row, charged } = await lastRow(async () => {
      const res = await post('/v1/chat/completions', { model: 'plain:m', max_tokens: 4000, messages: [{ role: 'user', content: 'Write me a long story' }] })
      await res.text()
    })
    expect(row.reserved).toBeGreaterThan(0)
    // Currently: released, cost 0 — the provider billed ~1,500 output tokens the caller never pays for.
    expect(row.cost).toBe(row.reserved)
    expect(charged).toBe(row.reserved)
  })

  test('responses → OpenAI (a failed response with its partial output, usage null): charged its hold', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, model: 'm', status: 'failed',
        error: { code: 'server_error', message: 'The model failed while generating' },
        output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'incomplete', content: [{ type: 'output_text', text: PARTIAL, annotations: [] }] }],
        usage: null,
      }),
    )
    const { row, charged } = await lastRow(async () => {
      const res = await post('/v1/responses', { model: 'plain:m', max_output_tokens: 4000, store: false, input: 'Write me a long story' })
      await res.text()
    })
    expect(row.reserved).toBeGreaterThan(0)
    expect(row.cost).toBe(row.reserved)
    expect(charged).toBe(row.reserved)
  })

  test('the client gets what the provider made, with the error, its text cut of the provider key it quotes', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'gen-2', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: PARTIAL }, finish_reason: 'error' }],
        error: { code: 502, message: 'upstream refused key sk-scripted-secret-0123456789 mid-generation' },
      }),
    )
    const res = await post('/v1/chat/completions', { model: 'plain:m', max_tokens: 4000, messages: [{ role: 'user', content: 'Write me a long story' }] })
    const text = await res.text()
    expect(res.status).toBe(200)
    expect(JSON.parse(text).choices[0].message.content).toBe(PARTIAL)
    expect(text).not.toContain('sk-scripted-secret-0123456789')
    expect(JSON.parse(text).error.message).toContain('mid-generation')
  })
})
