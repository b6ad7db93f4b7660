/**
 * The 64 K read cut (test/upstream-redact-read-cut.test.ts) with two configured secrets: the provider's api_key and a
 * header value (a proxy's token). What was read loses its longest end that begins any of them: once, the first secret
 * whose start matched the end won, however short the match (the api_key's first character), and the 16 characters of
 * the header token begun before the cut reached the client.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

// Neither has a recognisable key shape: only the whole-value cut finds them.
const API_KEY = 'a7c1e3f5b9d2840a6c8e1f3b5d7092ac4e6f8b1d' // 40 characters: checked first (longest first), begins with 'a'
const TOKEN = '3e5b7d9f1c2a4e6a8b0d2f4a6c8e0b2d' // 32 characters; its 16th character is 'a', API_KEY's first
const CUT = 65_536

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { px: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: API_KEY, headers: { 'x-proxy-token': TOKEN } } },
      pricing: { 'px:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'rt-bj-64k-cut-two', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test('a header secret straddling the 64 K read cut leaves no part of itself in the message, whatever the api_key begins with', async () => {
  expect(TOKEN[15]).toBe(API_KEY[0]!)
  const head = '{"error":{"message":"Rejected request: '
  const tail = ' was sent with credential '
  const runLength = CUT - 16 - head.length - tail.length
  const body = `${head}q***${'x'.repeat(runLength - 4)}${tail}${TOKEN} (unknown)"}}`
  expect(body.indexOf(TOKEN)).toBe(CUT - 16)
  upstream.answer(() => new Response(body, { status: 400, headers: { 'content-type': 'application/json' } }))
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'px:m', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  expect(res.status).toBe(400)
  expect(text).not.toContain(TOKEN.slice(0, 12))
})
