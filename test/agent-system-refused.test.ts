import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Groq's Compound systems choose their own tools (web search, website visits, code execution, browser
 * automation; up to 10 calls a request), code execution and browser automation billed by the hour, which no
 * request bounds and no usage counts. No price row can hold or settle them, so they are refused before any hold
 * or call even with cap-output off and a row that prices web search, on every route that reaches them.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const row = { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.005 } }
withScriptedGateway(
  { cap_output_tokens: false, pricing: { 'plain:groq/compound': row, 'plain:groq/compound-mini': row, 'plain:compound-beta': row } },
  (s) => ({ upstream, gw } = s),
)

test('groq/compound, groq/compound-mini and compound-beta on chat, Responses and Messages: 400 feature_unsupported, nothing held, no call', async () => {
  upstream.answer(() => jsonResponse({}))
  const { secret } = await gw.userWithKey({ id: 'compound', max_budget: 10 })
  for (const model of ['plain:groq/compound', 'plain:groq/compound-mini', 'plain:compound-beta'])
    for (const [path, body] of [
      ['/v1/chat/completions', { model, max_tokens: 50, messages: [{ role: 'user', content: 'weather in Tokyo?' }] }],
      ['/v1/responses', { model, max_output_tokens: 50, input: 'weather in Tokyo?' }],
      ['/v1/messages', { model, max_tokens: 50, messages: [{ role: 'user', content: 'weather in Tokyo?' }] }],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      const error = ((await res.json()) as { error: { code?: string; type: string; message: string } }).error
      // Anthropic's error shape has no code: its type says the request was refused, its message why.
      const refusal = path === '/v1/messages' ? error.type : error.code
      expect({ model, path, status: res.status, refusal, unbilled: error.message.includes('billed by the hour') })
        .toEqual({ model, path, status: 400, refusal: path === '/v1/messages' ? 'invalid_request_error' : 'feature_unsupported', unbilled: true })
    }
  await gw.settled()
  expect(upstream.calls.length).toBe(0)
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
})
