import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An untyped ISO-BMFF file is an image (HEIC, AVIF: heic-avif-photo-held-as-image.test.ts) only when none of its
 * `ftyp` brands, major or compatible, is a video brand. Only the major brand was read, and a major brand is a label:
 * the one-api family types untyped data with Go's `http.DetectContentType`, which follows the WHATWG MIME sniffing
 * rule for MP4 (any brand but the minor version starting `mp4` is `video/mp4`), and ffmpeg, which decodes video
 * upstream, ignores the brands altogether. An hour-long video whose `ftyp` reads `mif1` major, `isom mp42`
 * compatible, sent untyped (`data:;base64,…` or `application/octet-stream`), is billed ~1M tokens as video; it was
 * held at its bytes, and with cap-output on (SPEC §6: spend <= max_budget) the spend passed the budget.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gemini/gemini-2.5-flash'
const HOUR_OF_VIDEO = 3600 * (258 + 32)

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billTheHour = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'cmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: HOUR_OF_VIDEO + 10, completion_tokens: body.max_tokens, total_tokens: HOUR_OF_VIDEO + 10 + body.max_tokens },
  })

/** An MP4's first box: `ftyp`, major brand `major`, then compatible brands (a 24-byte box: size, type, major, minor, 2 brands). */
function mp4(major: string): string {
  const b = Buffer.alloc(3000)
  Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from(`ftyp${major}\0\0\0\0isommp42`, 'latin1')]).copy(b)
  return b.toString('base64')
}

/** Go's http.DetectContentType's MP4 rule (WHATWG mimesniff §6.2.1), as the one-api family types untyped data with it. */
function goSniffsMp4(base64: string): boolean {
  const data = Buffer.from(base64, 'base64')
  const boxSize = data.readUInt32BE(0)
  if (data.length < boxSize || boxSize % 4 !== 0 || data.toString('latin1', 4, 8) !== 'ftyp') return false
  for (let st = 8; st < boxSize; st += 4) if (st !== 12 && data.toString('latin1', st, st + 3) === 'mp4') return true
  return false
}

const fileBody = (data: string) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'file', file: { file_data: data } }] }],
})

test('control: an untyped MP4 of major brand isom keeps spend within max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', fileBody(`data:;base64,${mp4('isom')}`), 'gk-brand-isom')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

for (const major of ['mif1', 'avif', 'heic']) {
  test(`an untyped MP4 of major brand ${major}, compatible isom/mp42, never takes spend past max_budget`, async () => {
    expect(goSniffsMp4(mp4(major))).toBe(true)
    upstream.answer(billTheHour)
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', fileBody(`data:;base64,${mp4(major)}`), `gk-brand-${major}`)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
}

test('the same in an image_url data URL (application/octet-stream) never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: `data:application/octet-stream;base64,${mp4('mif1')}` } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'gk-brand-image-url')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
