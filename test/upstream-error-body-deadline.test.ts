/**
 * A provider's non-2xx answer has its body read under the call's signal (src/providers/call.ts `refusalOf`): the
 * upstream timeout covers the whole request (SPEC §2), an error body that never ends included, and only the part
 * of it the summary uses (64 K characters) is read, the rest cancelled. It was read whole after the signal was
 * disposed, so a provider (or a proxy in front of it) that sent its error status and then never ended its body kept
 * the client's request open forever. Cut while its error body is read, the call is answered as a timeout (504)
 * and, refused, its hold is released.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const UPSTREAM_TIMEOUT_MS = 800

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_timeout_ms: UPSTREAM_TIMEOUT_MS,
      upstream_idle_timeout_ms: 300,
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'error-body-deadline', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** A 500 whose body starts and never ends: a few bytes, then silence until the gateway cancels it. */
const endlessError = () =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"error":{"message":"internal'))
      },
    }),
    { status: 500, headers: { 'content-type': 'application/json' } },
  )

for (const stream of [false, true]) {
  test(`${stream ? 'stream' : 'JSON'} request: a provider 500 whose body never ends is answered within the upstream timeout (plus margin), not held open forever`, async () => {
    upstream.answer(endlessError)
    const started = performance.now()
    const res = await Promise.race([
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', stream, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
      }),
      Bun.sleep(UPSTREAM_TIMEOUT_MS * 8).then(() => null),
    ])
    const waited = performance.now() - started
    // No answer at all (the race's null) was the gateway waiting on the error body with no deadline.
    expect(res).not.toBeNull()
    expect([502, 504]).toContain(res!.status)
    expect(waited).toBeLessThan(UPSTREAM_TIMEOUT_MS * 5)
    // No money is involved: the hold of a refused call is released.
    await gw.settled()
    expect(gw.query('SELECT reserved FROM users WHERE id = ?', 'error-body-deadline')[0].reserved).toBe(0)
  }, 30_000)
}

test('a provider 500 whose body streams without end is summarised from its first 64 K characters, answered before the timeout', async () => {
  upstream.answer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            c.enqueue(new TextEncoder().encode('x'.repeat(16_384)))
          },
        }),
        { status: 500, headers: { 'content-type': 'text/plain' } },
      ),
  )
  const started = performance.now()
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const waited = performance.now() - started
  expect(res.status).toBe(502)
  expect(((await res.json()) as { error: { message: string } }).error.message).toStartWith('Upstream provider answered 500 (text/plain): xxx')
  expect(waited).toBeLessThan(UPSTREAM_TIMEOUT_MS)
  await gw.settled()
  expect(gw.query('SELECT reserved FROM users WHERE id = ?', 'error-body-deadline')[0].reserved).toBe(0)
}, 30_000)
