/**
 * Red team (jt): CredentialWatch (src/providers/credential-watch.ts, 21398195) searches each read, and the seam of held
 * bytes + the read's start, with bytesQuoteCredentials, whose JSON-escape search decodes `\…` pairs from the window's
 * first byte (upstream.ts jsonUnescaped). A window that starts on the SECOND backslash of an escaped backslash `\\` reads
 * that `\` as the start of an escape, swallows the `\` of the credential's own `\u0073` and never decodes it. So a
 * key written JSON-escaped (`\u0073\u006b…`, which the watch exists to find: held = 6 x length - 1) right after a
 * literal backslash (`\\`), with a read boundary between the two backslashes, is found by neither window and relayed;
 * the client's JSON parser decodes it to the key. The same bytes read in one piece (the first 64 KiB check, or
 * readAnswer's whole-answer check) are refused. Low severity: the provider must escape the key's first character and
 * write a backslash before it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const PROVIDER_KEY = 'sk-operator-provider-key-Zq81hT0pLw3x'
const ESCAPED = [...PROVIDER_KEY].map((c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')).join('')
/** Past the 64 KiB looked at before relaying: the rest goes through the watch. */
const TEXT = '{"data":"' + 'a'.repeat(70_000) + '\\\\' + ESCAPED + '","done":true}'
const CUT = TEXT.indexOf('\\\\') + 1

const provider = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    await req.text()
    const bytes = new TextEncoder().encode(TEXT)
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        // Two reads, cut between the two backslashes of `\\`, as a remote answer arrives in pieces.
        c.enqueue(bytes.slice(0, CUT))
        await Bun.sleep(50)
        c.enqueue(bytes.slice(CUT))
        c.close()
      },
    })
    return new Response(body, { headers: { 'content-type': 'application/json' } })
  },
})

let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({
    config: {
      providers: { tts: { type: 'openai', base_url: `http://127.0.0.1:${provider.port}/v1`, api_key: PROVIDER_KEY } },
      pricing: { 'tts:voice-1': { input_per_million: 0, output_per_million: 0, per_request: 0.01 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jt-seam', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await provider.stop(true)
})

test('control: the client JSON-decodes the answer to the provider key', () => {
  expect((JSON.parse(TEXT).data as string).includes(PROVIDER_KEY)).toBe(true)
})

test('a JSON-escaped provider key after an escaped backslash, cut between the backslashes, is not relayed', async () => {
  const res = await fetch(`${gw.url}/v1/audio/speech`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tts:voice-1', input: 'hello', voice: 'alloy' }),
  })
  const reader = res.body!.getReader()
  const chunks: Uint8Array[] = []
  let cut = false
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value)
  } catch {
    cut = true
  }
  const text = Buffer.concat(chunks).toString()
  let decodedLeak = false
  try {
    decodedLeak = (JSON.parse(text).data as string).includes(PROVIDER_KEY)
  } catch {}
  expect({ status: res.status, cut, decodedLeak }).toEqual({ status: 200, cut: true, decodedLeak: false })
})
