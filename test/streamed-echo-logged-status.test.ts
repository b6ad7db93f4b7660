/**
 * Mutation guard: a streamed text body (speech) past its first 64 KiB, whose 200 went out, that quotes
 * the provider key is cut, and the request log records the refusal (502) the gateway noted (`noteStatus`), not the
 * 200 its headers said: an operator auditing the request log sees the echo. A refactor that records the status the
 * headers went out with loses it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { scriptedGateway, scriptedProviders, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let KEY: string

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('le-echo-status'))
  KEY = scriptedProviders(upstream).plain.api_key
  await gw.admin('POST', '/v1/pricing', { model: 'plain:tts', input_per_million: 0, output_per_million: 0, per_request: 0.01 })
})
afterAll(() => stop())

test('speech text whose part past 64 KiB echoes the provider key: the request-log row says 502, not the 200 sent', async () => {
  // A text answer longer than the 64 KiB read first: the rest is searched as it is relayed (CredentialWatch).
  const long = new TextEncoder().encode('word '.repeat(16_000))
  upstream.answer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          async start(c) {
            c.enqueue(long)
            await Bun.sleep(100)
            c.enqueue(new TextEncoder().encode(`echo authorization: Bearer ${KEY}`))
            await Bun.sleep(50)
            c.close()
          },
        }),
        { headers: { 'content-type': 'text/plain' } },
      ),
  )
  const res = await fetch(`${gw.url}/v1/audio/speech`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' }),
  })
  expect(res.status).toBe(200)
  const body = await res.arrayBuffer().then(
    (b) => new TextDecoder().decode(b),
    () => '',
  )
  expect(body.includes(KEY)).toBe(false)

  const row = async () => {
    await gw.settled()
    return gw.query<{ status: number }>("SELECT status FROM api_request_log WHERE route = '/v1/audio/speech'")
  }
  let rows = await row()
  for (const deadline = Date.now() + 5_000; rows.length === 0 && Date.now() < deadline; rows = await row()) await Bun.sleep(20)
  expect(rows.map((r) => r.status)).toEqual([502])
})
