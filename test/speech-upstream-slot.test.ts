import { afterAll, beforeAll, expect, test } from 'bun:test'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * TOLLGATE_MAX_UPSTREAM_CONCURRENCY counts "provider calls in flight (a stream until it ends)". A speech
 * call is settled as soon as the provider answers (a per-request price), while its audio is still streamed
 * through (a slow client keeps that provider connection open for up to the upstream timeout): its slot must
 * stay taken until the audio has ended, not go back with its hold.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const enc = new TextEncoder()
let audioOpen: ReadableStreamDefaultController<Uint8Array> | null = null

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer((call) => {
    if (call.path === '/v1/audio/speech')
      return new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            audioOpen = c
            c.enqueue(enc.encode('ID3-first-audio-bytes'))
          },
        }),
        { headers: { 'content-type': 'audio/mpeg' } },
      )
    return jsonResponse({ id: 'c', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })
  })
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 } },
      max_upstream_concurrency: 1,
      metrics_enabled: true,
    },
  })
})
afterAll(async () => {
  try { audioOpen?.close() } catch {}
  await gw.stop()
  await upstream.stop()
})

test('a speech call whose audio is still streaming keeps its upstream slot: at limit 1, a second call gets 503 upstream_busy', async () => {
  const { secret } = await gw.userWithKey({ id: 'tts', max_budget: 10 })
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
  const speech = await fetch(`${gw.url}/v1/audio/speech`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' }) })
  expect(speech.status).toBe(200)
  const reader = speech.body!.getReader()
  const first = await reader.read()
  expect(new TextDecoder().decode(first.value)).toContain('ID3')
  // The provider is still sending this call's audio (its body has not ended).
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
  const inFlight = Number(/tollgate_upstream_in_flight (\d+)/.exec(metrics)![1])

  const second = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) })
  const callsWhileStreaming = upstream.calls.length
  await second.text()
  reader.cancel().catch(() => {})

  expect({ inFlight, secondStatus: second.status, providerCalls: callsWhileStreaming }).toEqual({ inFlight: 1, secondStatus: 503, providerCalls: 1 })
})

test('once the audio has ended (or the client left), the slot is back', async () => {
  const { secret } = await gw.userWithKey({ id: 'tts-2', max_budget: 10 })
  const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }
  const inFlight = async () => Number(/tollgate_upstream_in_flight (\d+)/.exec(await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text())![1])
  const speech = await fetch(`${gw.url}/v1/audio/speech`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' }) })
  const reader = speech.body!.getReader()
  await reader.read()
  expect(await inFlight()).toBe(1)
  audioOpen!.enqueue(enc.encode('-rest'))
  audioOpen!.close()
  while (!(await reader.read()).done);
  expect(await inFlight()).toBe(0)
  const chat = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) })
  expect(chat.status).toBe(200)
})
