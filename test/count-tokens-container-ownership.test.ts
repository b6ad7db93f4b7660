import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * `/v1/messages/count_tokens` checks the request's `container` as /v1/messages does (README, Stored state): forwarded,
 * another user's container would be read on the shared provider account on the caller's behalf, and the answer (a
 * count for a live container, Anthropic's 404 for an unknown or expired one) would tell whether it exists. So one that
 * no answer to the caller's user ran in is refused 404 before the provider is called; the user's own goes through.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } } },
  (started) => ({ upstream, gw } = started),
)

const TOOLS = [{ type: 'code_execution_20250825', name: 'code_execution' }]
const headers = (secret: string) => ({ 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' })

/** Alice's Messages request, which the provider answers running code in the container `id`. */
async function aliceRunsIn(id: string) {
  const alice = await gw.userWithKey({ id: `ct-alice-${id}`, max_budget: 5 })
  upstream.answer(() =>
    jsonResponse({
      id: `msg_${id}`, type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'done' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 5 }, container: { id, expires_at: '2026-12-05T00:00:00Z' },
    }),
  )
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST', headers: headers(alice.secret),
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, tools: TOOLS, messages: [{ role: 'user', content: 'analyse my payroll' }] }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  return alice
}

/** A count naming `container`, as its status and error type, and whether the container reached the provider. */
async function counting(secret: string, container: string) {
  const calls = upstream.calls.length
  upstream.answer(() => jsonResponse({ input_tokens: 12 }))
  const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST', headers: headers(secret),
    body: JSON.stringify({ model: 'ant:m', tools: TOOLS, container, messages: [{ role: 'user', content: 'list /mnt/user-data' }] }),
  })
  const body = (await res.json()) as { error?: { type?: string } }
  const forwarded = upstream.calls.slice(calls).some((c) => JSON.stringify(c.body).includes(container))
  return { status: res.status, type: body.error?.type, forwarded }
}

test("count_tokens naming another user's container is refused 404 before the provider is called", async () => {
  await aliceRunsIn('container_ct_alice')
  const mallory = await gw.userWithKey({ id: 'ct-mallory', max_budget: 5 })
  expect(await counting(mallory.secret, 'container_ct_alice')).toEqual({ status: 404, type: 'not_found_error', forwarded: false })
})

test('count_tokens naming a container of its own user is counted by the provider', async () => {
  const alice = await aliceRunsIn('container_ct_own')
  expect(await counting(alice.secret, 'container_ct_own')).toEqual({ status: 200, type: undefined, forwarded: true })
})
