import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * SPEC §2: secrets are never returned by any endpoint. The echo refusal (`quotesCredentials`) searched
 * the answer's raw JSON text for each credential as sent, plus PHP's `\/` spelling. JSON lets any character be
 * written `\uXXXX`, and .NET's System.Text.Json (ASP.NET's default serializer) writes `+` as `\u002B` by default.
 * A .NET echo service (or debugging proxy) answering with the request's headers therefore quotes the Basic token
 * with its `+` escaped: the raw search missed it, the answer was relayed 200, and any JSON client decoded it back
 * to the exact `Authorization: Basic …` value (the proxy's user and password). Text with a `\u` escape is now
 * searched decoded too, a whole answer and each event of a stream.
 */
const PASSWORD = 'Qm2Zt4L~px7k9' // looks issued: 13 characters, letters and digits mixed
const TOKEN = Buffer.from(`proxyuser:${PASSWORD}`).toString('base64') // contains a '+'
let upstream: ReturnType<typeof Bun.serve>
let gw: TestGateway
beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    // The request's headers as System.Text.Json writes them: '+' as \u002B.
    fetch: async (req) => {
      const escaped = JSON.stringify({ headers: Object.fromEntries(req.headers) }).replaceAll('+', '\\u002B')
      if (!((await req.json()) as { stream?: boolean }).stream) return new Response(escaped, { headers: { 'content-type': 'application/json' } })
      return new Response(`data: ${escaped}\n\ndata: [DONE]\n\n`, { headers: { 'content-type': 'text/event-stream' } })
    },
  })
  gw = await startTestGateway({
    config: {
      providers: { basic: { type: 'openai', base_url: `http://proxyuser:${PASSWORD}@127.0.0.1:${upstream.port}/v1`, api_key: '' } },
      pricing: { 'basic:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})

test('an echo quoting the Basic token with a JSON escape is still refused', async () => {
  expect(TOKEN).toContain('+')
  const { secret } = await gw.userWithKey({ id: 'echo-unicode-escaped', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'basic:m', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  let decoded = ''
  try {
    decoded = JSON.stringify(JSON.parse(text))
  } catch {}
  expect({ status: res.status, leaked: decoded.includes(TOKEN) }).toEqual({ status: 502, leaked: false })
})

test('a stream event quoting the Basic token with a JSON escape stops the stream before it', async () => {
  const { secret } = await gw.userWithKey({ id: 'echo-unicode-escaped-stream', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'basic:m', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
  })
  const text = await res.text()
  expect(text).not.toContain('\\u002B')
  expect(text).not.toContain(TOKEN)
  expect(text).toContain('credentials')
})
