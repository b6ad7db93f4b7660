import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An `image_url` part by URL is held as video (a file by reference, at the row's window) when its path ends as a
 * video's does, because LiteLLM passes it to Gemini by the type its extension says (`_get_image_mime_type_from_url`,
 * litellm/llms/vertex_ai/gemini/transformation.py). Two of LiteLLM's entries were missing from the gateway's
 * (`TIMED_MEDIA_EXTENSION`, src/budget/part-media.ts, and the PDF check, src/budget/estimate.ts): `.mpegps` →
 * `video/mpegps`, and `.txt` → `text/plain`, a text file by reference that Gemini reads whole (bounded only by its
 * 1M window). Both were held as an image, at the media bound, and billed hundreds of thousands of tokens: with
 * cap-output on (SPEC §6, `spend <= max_budget`) the spend passed the budget.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gemini/gemini-2.5-flash'
const BILLED = 400_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billsTheFile = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'cmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: BILLED, completion_tokens: body.max_tokens, total_tokens: BILLED + body.max_tokens },
  })

const bodyWith = (url: string) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise it.' }, { type: 'image_url', image_url: { url } }] }],
})

test('control: an image_url ending .mpeg (in the gateway\'s list) keeps spend within max_budget', async () => {
  upstream.answer(billsTheFile)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith('https://cdn.example.com/broadcast.mpeg'), 'gd-url-mpeg')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('an image_url ending .mpegps (LiteLLM: video/mpegps) never takes spend past max_budget', async () => {
  upstream.answer(billsTheFile)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith('https://cdn.example.com/broadcast.mpegps'), 'gd-url-mpegps')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('an image_url ending .txt (LiteLLM: text/plain, read whole by Gemini) never takes spend past max_budget', async () => {
  upstream.answer(billsTheFile)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith('https://cdn.example.com/corpus/war-and-peace.txt'), 'gd-url-txt')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
