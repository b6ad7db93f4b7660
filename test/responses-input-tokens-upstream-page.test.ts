import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * `POST /v1/responses/input_tokens` for an Anthropic model asks Anthropic's count_tokens. A 200 that is no JSON (a
 * proxy's HTML page, a captive portal) made the route answer 500 internal_error: the answer was parsed unguarded.
 * It is the provider's failure, answered as every other route answers one: 502 upstream_error, saying nothing of
 * the page. Its count must be a number, too: no count is no answer, not a count of 0.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({}, (s) => ({ upstream, gw } = s))

async function count(): Promise<{ status: number; body: any }> {
  const { secret } = await gw.userWithKey({ id: `input-tokens-${crypto.randomUUID()}`, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/responses/input_tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', input: 'How many tokens is this?' }),
  })
  return { status: res.status, body: await res.json() }
}

test('a 200 HTML page from the provider is a 502 upstream_error, not a 500, and none of the page reaches the client', async () => {
  upstream.answer(() => new Response('<html><title>Proxy login</title><body>Sign in to continue</body></html>', { headers: { 'content-type': 'text/html' } }))
  const { status, body } = await count()
  expect({ status, code: body.error?.code }).toEqual({ status: 502, code: 'upstream_error' })
  expect(JSON.stringify(body)).not.toContain('Proxy login')
  expect(upstream.calls.at(-1)!.path).toBe('/v1/messages/count_tokens')
})

test('a JSON answer without a count, JSON null, or an empty body is a 502 too', async () => {
  for (const answer of [() => jsonResponse({ tokens: 12 }), () => jsonResponse(null), () => new Response('', { status: 200 })]) {
    upstream.answer(answer)
    const { status, body } = await count()
    expect({ status, code: body.error?.code, input_tokens: body.input_tokens }).toEqual({ status: 502, code: 'upstream_error', input_tokens: undefined })
  }
})

test('control: the count Anthropic answers is relayed', async () => {
  upstream.answer(() => jsonResponse({ input_tokens: 12 }))
  expect(await count()).toEqual({ status: 200, body: { object: 'response.input_tokens', input_tokens: 12 } })
})

test('control: a page quoting the key the provider was sent is refused all the same', async () => {
  const KEY = scriptedProviders(upstream).ant.api_key
  upstream.answer(() => new Response(`<html><body>x-api-key: ${KEY}</body></html>`, { headers: { 'content-type': 'text/html' } }))
  const { status, body } = await count()
  expect(status).toBe(502)
  expect(JSON.stringify(body)).not.toContain(KEY)
})
