/**
 * Redacting provider error text is linear in its length. The masked-key pattern of `redact`
 * (src/providers/upstream.ts) matches only from the start of a run of key characters: unanchored, every position of
 * a long run without `***` scanned to the run's end and backtracked, so 64 KB of letters (the slice a JSON error
 * summary redacts) took ~1.6 s of the gateway's one thread, and a stream's error event (redacted whole,
 * src/metering/provider-error-event.ts) of 128 KB several seconds, during which the gateway answered nobody, and
 * the caller paid nothing (an upstream 4xx releases the hold).
 *
 * A provider echoing what it was sent is ordinary: OpenAI's 400 "Unrecognized request argument supplied: <name>"
 * quotes an unknown field's name, pydantic servers (vLLM) quote the offending input.
 *
 * The gateway runs as a child process here, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { openAIEvent, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const KNOWN = new Set(['model', 'messages', 'stream', 'stream_options', 'max_tokens'])

let upstream: ScriptedUpstream
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await spawnGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      log_level: 'warn',
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'redact-linear', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chat = (body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, ...body }),
  }).then(async (res) => ({ status: res.status, text: await res.text() }))

test('a provider 400 that quotes a 60,000-letter field name does not stall the gateway: /health answers within 500 ms meanwhile', async () => {
  // As OpenAI answers an unknown argument.
  upstream.answer((call) => {
    const unknown = Object.keys(call.body).find((k) => !KNOWN.has(k)) ?? ''
    return new Response(JSON.stringify({ error: { message: `Unrecognized request argument supplied: ${unknown}`, type: 'invalid_request_error' } }), {
      status: 400,
      headers: { 'content-type': 'application/json' },
    })
  })
  const field = 'a'.repeat(60_000)
  const refused = chat({ [field]: 1 })
  const worst = await worstHealthDuring(gw.url, refused)
  const answer = await refused
  expect(answer.status).toBe(400)
  expect(answer.text).toContain('Unrecognized request argument supplied')
  // Linear redaction of 64 KB takes well under a millisecond; it took ~1,600 ms.
  expect(worst).toBeLessThan(500)
}, 60_000)

test('a provider stream error event of 128 KB of letters does not stall the gateway: /health answers within 1 s meanwhile', async () => {
  const message = 'b'.repeat(128 * 1024)
  upstream.answer(
    () =>
      new Response(openAIEvent({ error: { message, type: 'server_error' } }), {
        headers: { 'content-type': 'text/event-stream' },
      }),
  )
  const streamed = chat({ stream: true })
  const worst = await worstHealthDuring(gw.url, streamed)
  const answer = await streamed
  expect(answer.status).toBe(200)
  expect(answer.text).toContain('server_error')
  // It took ~6 s (quadratic: 4x the text, 16x the time of the 64 KB case above).
  expect(worst).toBeLessThan(1000)
}, 120_000)
