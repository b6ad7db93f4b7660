/**
 * A free call (count_tokens, Responses `input_tokens`, reading a stored response) takes one of the free-call slots
 * for as long as its fetch is open, and gives it back however it ends: its answer read whole, its body relayed to
 * its end or cancelled by the client, the provider refusing it, the client going away before the answer. A slot
 * that leaked would, 32 leaks later, refuse every free call with 503 for good.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openStream, postResponses, scriptedProviders, startScriptedUpstream, type Script, type ScriptedUpstream } from './support/scripted-upstream'

const STORED = 'resp_free_slot_1'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
      metrics_enabled: true,
    },
  })
  secret = (await gw.userWithKey({ id: 'free-slots', max_budget: 10 })).secret
  upstream.answer(() => jsonResponse({ id: STORED, object: 'response', status: 'completed', output: [], usage: { input_tokens: 5, output_tokens: 1 } }))
  expect((await postResponses(gw, secret, { model: 'plain:m', input: 'hi', max_output_tokens: 16 })).status).toBe(200)
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const auth = () => ({ authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' })
const freeCallsInFlight = async () => Number(/tollgate_free_calls_in_flight (\d+)/.exec(await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text())![1])
async function settlesAtZero(): Promise<number> {
  for (let i = 0; i < 100 && (await freeCallsInFlight()) > 0; i++) await Bun.sleep(20)
  return freeCallsInFlight()
}

const retrieve = (query = '', signal?: AbortSignal) => fetch(`${gw.url}/v1/responses/${STORED}${query}`, { headers: auth(), signal })
const countTokens = (signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, { method: 'POST', headers: auth(), signal, body: JSON.stringify({ model: 'ant:m', messages: [{ role: 'user', content: 'hi' }] }) })
const inputTokens = (signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/responses/input_tokens`, { method: 'POST', headers: auth(), signal, body: JSON.stringify({ model: 'plain:m', input: 'hi' }) })

const answering = (script: Script) => upstream.answer(script)

test('answered and read to the end', async () => {
  answering(() => jsonResponse({ id: STORED, object: 'response', status: 'completed', output: [] }))
  expect((await retrieve()).status).toBe(200)
  answering(() => jsonResponse({ input_tokens: 3 }))
  expect(await (await countTokens()).json()).toEqual({ input_tokens: 3 })
  answering(() => jsonResponse({ object: 'response.input_tokens', input_tokens: 3 }))
  expect((await inputTokens()).status).toBe(200)
  expect(await settlesAtZero()).toBe(0)
})

test('a stored response streamed through keeps its slot while its body is open, and gives it back when the client cancels', async () => {
  answering(openStream([`event: response.created\ndata: ${JSON.stringify({ type: 'response.created', response: { id: STORED } })}\n\n`]))
  const res = await retrieve('?stream=true')
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  expect((await reader.read()).done).toBe(false)
  expect(await freeCallsInFlight()).toBe(1)
  await reader.cancel()
  expect(await settlesAtZero()).toBe(0)
})

test('refused by the provider', async () => {
  answering(() => jsonResponse({ error: { message: 'overloaded', type: 'server_error' } }, 500))
  expect((await retrieve()).status).toBe(502)
  expect((await countTokens()).status).toBe(502)
  expect((await inputTokens()).status).toBe(502)
  expect(await settlesAtZero()).toBe(0)
})

test('the client going away before the provider answers', async () => {
  answering(() => new Promise<Response>(() => {}))
  const cut = new AbortController()
  const calls = [retrieve('', cut.signal), countTokens(cut.signal), inputTokens(cut.signal)].map((p) => p.catch(() => null))
  for (let i = 0; i < 100 && (await freeCallsInFlight()) < 3; i++) await Bun.sleep(20)
  expect(await freeCallsInFlight()).toBe(3)
  cut.abort()
  await Promise.all(calls)
  expect(await settlesAtZero()).toBe(0)
})
