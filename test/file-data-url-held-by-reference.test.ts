import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * OpenRouter takes a chat `file` part's `file_data` as "direct URLs or base64-encoded data URLs"
 * (openrouter.ai/docs/features/multimodal/pdfs: `file: {filename, file_data: 'https://bitcoin.org/bitcoin.pdf'}`),
 * and with its `native` engine bills the PDF's pages as input tokens (a 100-page PDF: ~300,000). The gateway read any
 * non-empty `file_data` as inline data (`partFileByReference`, src/budget/part-media.ts): a URL there was "base64"
 * held at its ~40 bytes, never as a file by reference, and with cap-output on (SPEC §6: `spend <= max_budget`) the
 * spend passed the budget, whatever the URL's name says (`/download?id=4711`). A link there is a file by reference.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'
const HUNDRED_PAGES = 100 * 2_600

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billsThePages = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: HUNDRED_PAGES, completion_tokens: body.max_tokens, total_tokens: HUNDRED_PAGES + body.max_tokens },
  })

const bodyWith = (file: Record<string, unknown>) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the report.' }, { type: 'file', file }] }],
})

test('control: a PDF by URL in file_data with a .pdf filename keeps spend within max_budget', async () => {
  upstream.answer(billsThePages)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ filename: 'report.pdf', file_data: 'https://example.com/annual-report.pdf' }), 'gd-fd-url-named')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('a PDF by URL in file_data (no filename) never takes spend past max_budget', async () => {
  upstream.answer(billsThePages)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ file_data: 'https://example.com/annual-report.pdf' }), 'gd-fd-url-pdf')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('a file by URL in file_data whose name says nothing never takes spend past max_budget', async () => {
  upstream.answer(billsThePages)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ file_data: 'https://example.com/download?id=4711' }), 'gd-fd-url-any')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
