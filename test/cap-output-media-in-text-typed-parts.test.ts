import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * SPEC §6: with cap-output on, a request whose estimate bounds its input (text alone, `boundsInput`) is charged no
 * more input than held; one with media is charged its input whole, since the media bound is the gateway's guess.
 * Servers read media from parts whose `type` is no media type: vLLM reads a part with a `uuid` by the media key it
 * carries, whatever its type (`{type: "text", uuid, video_url}` is a video, `{type: "text", uuid, image_url}` an
 * image), and DashScope takes a video as its frames (`{type: "video", video: [URLs]}`). Each is ~100 bytes, billed
 * thousands of tokens: held as text, all past its bytes would go unbilled. With cap-output on a part is text only
 * when its type is a text type and it carries no media key; any other is media, so the input is charged whole.
 * plain:m: 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    metrics_enabled: true,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
  },
  (s) => ({ upstream, gw } = s),
)

const answerWith = (promptTokens: number) => () =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'A talk.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: promptTokens, completion_tokens: 3, total_tokens: promptTokens + 3 },
  })

/** Sends `parts` and a line of text to plain:m, the provider reporting `providerCount` input tokens: the provider's whole count is charged. */
async function expectChargedWhole(id: string, parts: unknown[], providerCount: number) {
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(answerWith(providerCount))
  let row!: Awaited<ReturnType<typeof settledRow>>
  const unbilled = await unbilledInputOf(gw, 'plain', async () => {
    row = await settledRow(gw, id, async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_tokens: 16, messages: [{ role: 'user', content: [...parts, { type: 'text', text: 'Summarise it.' }] }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
  })
  expect(row.prompt_tokens).toBe(providerCount)
  expect(unbilled).toBe(0)
  expect(row.cost).toBeGreaterThanOrEqual(providerCount)
}

describe('cap-output on: media in a part whose type is no media type is held as media, its input charged whole', () => {
  test('vLLM: {type: "text", uuid, video_url} is a video (billed ~20,000 tokens)', async () => {
    await expectChargedWhole('uuid-video', [{ type: 'text', text: '', uuid: 'v1', video_url: 'https://videos.example/keynote.mp4' }], 20_000)
  })

  test('vLLM: {type: "text", uuid, image_url} is an image (up to 16,384 tokens on Qwen2.5-VL)', async () => {
    await expectChargedWhole('uuid-image', [{ type: 'text', text: '', uuid: 'i1', image_url: 'https://images.example/scan-8k.png' }], 16_000)
  })

  test('DashScope: {type: "video", video: [64 frame URLs]} is a video of 64 frames (~300 tokens each)', async () => {
    const frames = Array.from({ length: 64 }, (_, i) => `https://f.example/${i}.jpg`)
    await expectChargedWhole('frame-list', [{ type: 'video', video: frames }], 64 * 300)
  })
})
