/**
 * What the gateway writes into a provider's body (the model id, usage asked for on a stream, an output cap, a
 * router's price bound) comes after every key of the client's, the client's own of the same name taken out: a server
 * that reads keys ignoring case takes the last spelling (Go's encoding/json), so the gateway's must be the last, in
 * the objects it writes into as well (`stream_options`, OpenRouter's `provider`). A client's case variant of a field
 * there is refused before any call (test/case-variant-setting-objects.test.ts).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { goField } from './support/go-json'
import { jsonResponse, openAIEvent, postResponses, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, cap_output_tokens: true, default_max_output_tokens: 64 },
  (s) => ({ upstream, gw } = s),
)

const chat = (secret: string, body: unknown) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

const completion = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }

test('chat: the model and the cap come last, and a stream asks for usage in the spelling read last', async () => {
  const { secret } = await gw.userWithKey({ id: 'fields-last-chat', max_budget: 1 })
  upstream.answer(() =>
    sseResponse([
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'ok' }, finish_reason: 'stop' }] }),
      openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const variant = await chat(secret, { model: 'plain:m', max_tokens: 8, stream: true, stream_options: { include_usage: false, Include_Usage: false }, messages: [{ role: 'user', content: 'hi' }] })
  expect({ status: variant.status, code: ((await variant.json()) as { error: { code: string } }).error.code }).toEqual({ status: 400, code: 'case_variant_key' })
  expect(upstream.calls).toHaveLength(0)
  const res = await chat(secret, { model: 'plain:m', max_tokens: 8, stream: true, stream_options: { include_usage: false, continuous_usage_stats: false }, messages: [{ role: 'user', content: 'hi' }], temperature: 0 })
  await res.text()
  const sent = upstream.calls[0]!.body
  expect(Object.keys(sent).slice(-3)).toEqual(['model', 'stream_options', 'max_tokens'])
  expect(goField(sent.stream_options, 'include_usage')).toBe(true)
})

test('Responses: the bound held is the last max_output_tokens', async () => {
  const { secret } = await gw.userWithKey({ id: 'fields-last-responses', max_budget: 1 })
  upstream.answer(() =>
    jsonResponse({
      id: 'resp_1', object: 'response', status: 'completed', model: 'm',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: 5, output_tokens: 1, total_tokens: 6 },
    }),
  )
  await (await postResponses(gw, secret, { model: 'plain:m', max_output_tokens: 16, input: 'hi', store: false })).text()
  expect(Object.keys(upstream.calls[0]!.body).slice(-2)).toEqual(['model', 'max_output_tokens'])
})

test("a router's price bound is the last max_price of its routing", async () => {
  const { secret } = await gw.userWithKey({ id: 'fields-last-router', max_budget: 1 })
  upstream.answer(() => jsonResponse(completion))
  for (const provider of [{ max_price: { prompt: 1000 }, Max_Price: { prompt: 1000 } }, { max_price: { prompt: 1, Prompt: 1000 } }]) {
    const variant = await chat(secret, { model: 'plain:m', max_tokens: 8, provider, messages: [{ role: 'user', content: 'hi' }] })
    expect({ status: variant.status, code: ((await variant.json()) as { error: { code: string } }).error.code }).toEqual({ status: 400, code: 'case_variant_key' })
  }
  expect(upstream.calls).toHaveLength(0)
  const res = await chat(secret, { model: 'plain:m', max_tokens: 8, provider: { max_price: { prompt: 1000 }, sort: 'price' }, messages: [{ role: 'user', content: 'hi' }] })
  await res.text()
  expect(Object.keys(upstream.calls[0]!.body.provider).at(-1)).toBe('max_price')
  expect(goField(upstream.calls[0]!.body.provider, 'max_price')).toEqual({ prompt: 1, completion: 2, request: 0 })
})
