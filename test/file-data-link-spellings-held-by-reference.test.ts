import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A link in a file's `file_data` is a file by reference (file-data-url-held-by-reference.test.ts), however it is
 * spelled. `file_data` was taken for inline data unless it began `http://`, `https://` or `gs://`, and held at its
 * ~40 bytes; but the WHATWG URL parser that Node's, Bun's and Deno's `fetch` and `new URL` use (OpenRouter is a
 * TypeScript server) reads `https:/host/x.pdf`, `https:host/x.pdf`, `https:\\host\x.pdf` and a leading control
 * character all as `https://host/x.pdf`, and none of them is base64 (`:` is outside its alphabet) or a data URL, so
 * no provider reads them as data. A 100-page PDF is billed ~260,000 tokens: with cap-output on (SPEC §6: spend <=
 * max_budget) the spend passed the budget. `file_data` is inline only as a data URL or base64.
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

test('control: https:// in file_data keeps spend within max_budget', async () => {
  upstream.answer(billsThePages)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ file_data: 'https://example.com/annual-report.pdf' }), 'gk-fd-control')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

const SPELLINGS: Array<[string, string]> = [
  ['one slash', 'https:/example.com/annual-report.pdf'],
  ['no slash', 'https:example.com/annual-report.pdf'],
  ['backslashes', 'https:\\\\example.com\\annual-report.pdf'],
  ['a leading control character', '\u0001https://example.com/annual-report.pdf'],
]

for (const [what, link] of SPELLINGS) {
  test(`a PDF link in file_data spelled with ${what} (${JSON.stringify(link)}) never takes spend past max_budget`, async () => {
    expect(new URL(link).href).toBe('https://example.com/annual-report.pdf')
    upstream.answer(billsThePages)
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ file_data: link }), `gk-fd-${what.replace(/\W+/g, '-')}`)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })
}
