import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The sniff (`sniffedMedia`, src/budget/part-media.ts) called any inline data with an ISO-BMFF `ftyp` box at byte 4
 * timed media, whatever the part declares. HEIC/HEIF (every iPhone photo) and AVIF images are ISO-BMFF files
 * (`....ftypheic`, `....ftypmif1`, `....ftypavif`), which Gemini takes as images (a few hundred tokens); with
 * cap-output on, such a photo sent as `data:image/heic;base64,…` was held as a video, at the row's 1,048,576-token
 * window, and a user with cents left was refused 402 `budget_exceeded` for a photo a PNG of passed. A declared
 * `image/*` type, or an image brand in the `ftyp` box, is an image.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const answers = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'a cat' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 270, completion_tokens: 2, total_tokens: 272 },
  })

/** An image file of `size` bytes whose header is `head` (the rest zeros: the sniff reads only the first 12 bytes). */
const image = (head: Buffer, size = 30_000) => {
  const b = Buffer.alloc(size)
  head.copy(b)
  return b.toString('base64')
}
const isoBmff = (brand: string, compatible: string) =>
  Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(`ftyp${brand}\0\0\0\0${compatible}`, 'latin1')])

const PNG = image(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
const HEIC = image(isoBmff('heic', 'mif1heic'))
const AVIF = image(isoBmff('avif', 'mif1avif'))

async function send(url: string, user: string) {
  // $0.05: an image (its 30 kB as tokens, ~$0.01 at $0.30/M) and then some; not a 1M-token video.
  const { secret } = await gw.userWithKey({ id: user, max_budget: 0.05 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this photo?' }, { type: 'image_url', image_url: { url } }] }] }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  return { status: res.status, code: body.error?.code ?? null }
}

test('control: a 30 kB PNG photo is served within a $0.05 budget', async () => {
  upstream.answer(answers)
  expect(await send(`data:image/png;base64,${PNG}`, 'gd-png-photo')).toEqual({ status: 200, code: null })
})

test('a 30 kB HEIC photo declared image/heic is held as the image it is, not refused as a 1M-token video', async () => {
  upstream.answer(answers)
  expect(await send(`data:image/heic;base64,${HEIC}`, 'gd-heic-photo')).toEqual({ status: 200, code: null })
})

test('a 30 kB AVIF image declared image/avif is held as the image it is, not refused as a 1M-token video', async () => {
  upstream.answer(answers)
  expect(await send(`data:image/avif;base64,${AVIF}`, 'gd-avif-photo')).toEqual({ status: 200, code: null })
})
