/**
 * Red team (jp): README "An answer that quotes the provider's credentials is not relayed ... (httpbin's `/anything`
 * behind a mistyped `base_url`, a debugging proxy)"; SPEC §2: secrets are "never returned by any endpoint".
 *
 * An answer passed through (speech) is looked at only up to its first 64 KiB (`errorCheckedAnswer`,
 * src/providers/call.ts), on the belief that this is "where an echo puts the request's headers". httpbin's
 * `/anything` writes its keys sorted: `args`, `data` (the raw request body), `files`, `form`, then `headers`. A key
 * holder who sends a speech `input` of 100 000 characters (nothing bounds it) pushes the echoed `Authorization:
 * Bearer <provider key>` past 64 KiB, and the gateway relays the whole echo, provider key included, with a 200.
 * The same on the free `POST /v1/responses/input_tokens` (`callUnmetered`): the key costs its holder nothing.
 * The echo is sent in 16 KiB pieces 25 ms apart, as a remote server's answer arrives (TLS records are at most 16 KiB).
 *
 * An answer past its first 64 KiB is already on its way with its 200, so the key found there cannot make it a 502:
 * the body ends with an error before the piece that holds the key (the client's read fails), never relaying it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

const PROVIDER_KEY = 'sk-operator-provider-key-Zq81hT0pLw3x'

/** httpbin's `/anything`: the request echoed back as JSON, keys in httpbin's (sorted) order, over real HTTP. */
const echo = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const data = await req.text()
    let json: unknown = null
    try {
      json = JSON.parse(data)
    } catch {}
    const url = new URL(req.url)
    const text = JSON.stringify({
      args: Object.fromEntries(url.searchParams),
      data,
      files: {},
      form: {},
      headers: Object.fromEntries([...req.headers].map(([k, v]) => [k.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()), v])),
      json,
      method: req.method,
      origin: '127.0.0.1',
      url: req.url,
    })
    // As it arrives over a real network (TLS records of 16 KiB at most): in pieces, not one read.
    const bytes = new TextEncoder().encode(text)
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        for (let at = 0; at < bytes.length; at += 16_384) {
          c.enqueue(bytes.slice(at, at + 16_384))
          await Bun.sleep(25)
        }
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
      // A mistyped base_url: the operator meant a TTS server and wrote the echo service's address.
      providers: { tts: { type: 'openai', base_url: `http://127.0.0.1:${echo.port}/anything`, api_key: PROVIDER_KEY } },
      pricing: { 'tts:voice-1': { input_per_million: 0, output_per_million: 0, per_request: 0.01 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jp-echo', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await echo.stop(true)
})

/** The answer's status, what of its body came, and whether the body was cut (its read failed). */
async function answerOf(path: string, body: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const reader = res.body!.getReader()
  const chunks: Uint8Array[] = []
  let cut = false
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value)
  } catch {
    cut = true
  }
  return { status: res.status, text: Buffer.concat(chunks).toString(), cut, requestId: res.headers.get('x-request-id')! }
}

const speech = (input: string) => answerOf('/v1/audio/speech', { model: 'tts:voice-1', input, voice: 'alloy' })
const refused = ({ status, text, cut }: Awaited<ReturnType<typeof answerOf>>) => ({ refused: status === 502 || cut, leaked: text.includes(PROVIDER_KEY) })

test('control: a short speech request echoed by httpbin is refused (502), the provider key not relayed', async () => {
  const { status, text } = await speech('hello')
  expect({ status, leaked: text.includes(PROVIDER_KEY) }).toEqual({ status: 502, leaked: false })
})

test('a speech request whose input pushes the echoed headers past 64 KiB: the provider key must not be relayed', async () => {
  const answer = await speech('a'.repeat(100_000))
  expect(refused(answer)).toEqual({ refused: true, leaked: false })
  // Everything before the key came: the echo was relayed as it arrived, not held whole.
  expect(answer.text.length).toBeGreaterThan(65_536)
  // Its 200 went out before the echo was found: the request log records the refusal.
  await gw.settled()
  const rows = (await gw.admin('GET', '/v1/audit?user_id=rt-jp-echo&limit=100')).body.data as any[]
  expect(rows.find((r) => r.request_id === answer.requestId)).toMatchObject({ status: 502, route: '/v1/audio/speech' })
})

test('the free /v1/responses/input_tokens with a long input: the provider key must not be relayed', async () => {
  const answer = await answerOf('/v1/responses/input_tokens', { model: 'tts:voice-1', input: 'a'.repeat(100_000) })
  expect(refused(answer)).toEqual({ refused: true, leaked: false })
})
