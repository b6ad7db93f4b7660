import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An image link whose LiteLLM `format` is not an image type is a file by reference. LiteLLM sends Gemini an
 * `image_url` link with a `format` as `file_data: {file_uri, mime_type: format}` (`_process_gemini_image`: `format or
 * _get_image_mime_type_from_url(url)`), and Gemini reads a document whole; its document types
 * (cloud.google.com …/gemini/capabilities/document) include, beside `application/pdf` and `text/…`,
 * `application/x-javascript` and `application/x-python`. Only PDF and `text/…` were known: a 1 MB script linked
 * as an image with `format: "application/x-python"` was held as one image and billed ~260,000 tokens, and with
 * cap-output on (SPEC §6: spend <= max_budget) the spend passed the budget.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gemini/gemini-2.5-flash'
const WHOLE_FILE = 260_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billsTheFile = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: WHOLE_FILE, completion_tokens: body.max_tokens, total_tokens: WHOLE_FILE + body.max_tokens },
  })

const bodyWith = (format: string) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the export.' }, { type: 'image_url', image_url: { url: 'https://example.com/download?id=4711', format } }] }],
})

test('control: an image link with format text/plain keeps spend within max_budget', async () => {
  upstream.answer(billsTheFile)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith('text/plain'), 'gk-fmt-text')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

for (const format of ['application/x-javascript', 'application/x-python']) {
  test(`an image link with format ${format} (a document Gemini reads whole) never takes spend past max_budget`, async () => {
    upstream.answer(billsTheFile)
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith(format), `gk-fmt-${format.replace(/\W+/g, '-')}`)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
}
