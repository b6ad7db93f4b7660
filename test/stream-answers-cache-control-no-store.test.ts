/**
 * README "Security model", Edge: "Every `/v1/*` answer is `Cache-Control: no-store` (kept with the
 * security headers off): … a shared cache in front of the gateway could otherwise keep admin lists, a new key's
 * secret or a caller's usage." The security-header hook sets `no-store` on every /v1 answer; the billed
 * routes' streamed answers (chat, Messages, Responses: src/translate/relay.ts), which build their own Response, said
 * `cache-control: no-cache` instead. `no-cache` lets a cache store the answer (it must only revalidate
 * before reusing it): a streamed completion, the prompt's answer, and its `X-Budget-Remaining` are exactly what
 * the README says a shared cache may not keep. The JSON answers of the same routes were `no-store`.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({ pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ gw } = s))

test('a streamed answer on /v1/* is Cache-Control: no-store, as the JSON answer of the same route is', async () => {
  const { secret } = await gw.userWithKey({ id: 'stream-cache', max_budget: 5 })
  const headers = { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }
  const requests: Record<string, [string, Record<string, unknown>]> = {
    chat: ['/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }],
    messages: ['/v1/messages', { model: 'mockant:claude-mock', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }],
    responses: ['/v1/responses', { model: 'mock:gpt-mock', input: 'hi', store: false }],
  }
  const seen: Record<string, string | null> = {}
  for (const [name, [path, body]] of Object.entries(requests)) {
    for (const stream of [false, true]) {
      const res = await fetch(gw.url + path, { method: 'POST', headers, body: JSON.stringify({ ...body, stream }) })
      expect({ name, stream, status: res.status }).toEqual({ name, stream, status: 200 })
      await res.arrayBuffer()
      seen[`${name}${stream ? ' stream' : ''}`] = res.headers.get('cache-control')
    }
  }
  expect(seen).toEqual({
    chat: 'no-store',
    'chat stream': 'no-store',
    messages: 'no-store',
    'messages stream': 'no-store',
    responses: 'no-store',
    'responses stream': 'no-store',
  })
})
