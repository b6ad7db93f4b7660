/**
 * A provider's error body is read up to its first 65,536 characters and redacted there. A configured secret that
 * straddles that cut is not whole in what was read, so its start is dropped with the cut: when what comes before it
 * collapses under redaction (a long masked-looking run the provider quotes back becomes `[redacted]`), that start
 * would otherwise land inside the 4,096 characters the summary keeps and reach the client, as it once did (16 of a
 * 32-character key). test/upstream-redact-cut.test.ts holds the 120- and 4,096-character cuts to the same bar.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

// A key without a recognisable prefix (a proxy's token, Azure, Together): only the whole-value cut can find it.
const KEY = '9f2c4e7a1b3d5f608a2c4e6b8d0f1a3c'
const CUT = 65_536

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { px: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: KEY } },
      pricing: { 'px:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'rt-bg-64k-cut', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test('a configured key that straddles the 64 K read cut leaves no part of itself in the message the client gets', async () => {
  const head = '{"error":{"message":"Rejected request: '
  const tail = ' was sent with credential '
  // A run that redaction collapses to `[redacted]` (stars inside a run of key characters), sized so that the key starts 16 characters before the cut.
  const runLength = CUT - 16 - head.length - tail.length
  const body = `${head}q***${'a'.repeat(runLength - 4)}${tail}${KEY} (unknown)"}}`
  expect(body.indexOf(KEY)).toBe(CUT - 16)
  upstream.answer(() => new Response(body, { status: 400, headers: { 'content-type': 'application/json' } }))
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'px:m', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  expect(res.status).toBe(400)
  // The 16 characters of the key before the cut.
  expect(text).not.toContain(KEY.slice(0, 12))
})
