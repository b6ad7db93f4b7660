import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * DashScope's OpenAI-compatible endpoint (https://dashscope.aliyuncs.com/compatible-mode/v1) serves Qwen-Long and
 * Qwen-Doc-Turbo, which read files by reference written as text: a system message `fileid://file-fe-xxx` (several
 * ids comma-separated) names files uploaded through its OpenAI-compatible Files API, and "the token count of the
 * referenced file content is included in the input tokens for each API call" (Alibaba Cloud Model Studio, "Long
 * context (Qwen-Long)"; a window of 10,000,000 tokens). The gateway counts that system message as text, its ~30
 * bytes, so with cap-output on (SPEC §6: `spend <= max_budget`) the hold covered a few dozen tokens while the
 * provider billed the whole document. Each `fileid://` is held as a file by reference: the larger of the PDF bound
 * and the window the row's `context_window_tokens` states.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:qwen-long'
/** A 200-page contract, parsed to text by DashScope and billed on every call that names it. */
const DOCUMENT_TOKENS = 150_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    // Qwen-Long: ¥0.5 / ¥2 per million, about $0.07 / $0.28; its 10M window stated on the row.
    pricing: { [MODEL]: { input_per_million: 0.07, output_per_million: 0.28, context_window_tokens: 10_000_000 } },
  },
  (started) => ({ upstream, gw } = started),
)

const readsTheFiles = ({ body }: ScriptedCall) => {
  let files = 0
  for (const m of body.messages as Array<{ role: string; content: unknown }>)
    if (m.role === 'system' && typeof m.content === 'string') files += (m.content.match(/fileid:\/\//g) ?? []).length
  const prompt = 40 + files * DOCUMENT_TOKENS
  const max = body.max_tokens ?? 16
  return jsonResponse({
    id: 'chatcmpl-qwen', object: 'chat.completion', created: 1, model: 'qwen-long',
    choices: [{ index: 0, message: { role: 'assistant', content: 'The contract ends in 2027.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: max, total_tokens: prompt + max },
  })
}

const bodyWith = (system: string) => ({
  model: MODEL,
  max_tokens: 16,
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'system', content: system },
    { role: 'user', content: 'When does the contract end?' },
  ],
})

const heldFor = async (body: Record<string, unknown>, name: string) => {
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, name)
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
}

test('control: the document sent inline as the system message keeps spend within max_budget', async () => {
  upstream.answer(({ body }) => {
    const prompt = 200
    return jsonResponse({
      id: 'c', object: 'chat.completion', created: 1, model: 'qwen-long',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: prompt, completion_tokens: body.max_tokens, total_tokens: prompt + body.max_tokens },
    })
  })
  await heldFor(bodyWith('The contract runs from 2024 to 2027.'), 'qwen-inline')
})

test('a Qwen-Long file by reference (system message fileid://) never takes spend past max_budget', async () => {
  upstream.answer(readsTheFiles)
  await heldFor(bodyWith('fileid://file-fe-9f2c4a7e1b0d4c3e8a6f5d2b'), 'qwen-fileid')
})

test('several Qwen-Long files by reference in one system message never take spend past max_budget', async () => {
  upstream.answer(readsTheFiles)
  await heldFor(bodyWith('fileid://file-fe-aaaaaaaaaaaaaaaaaaaaaaaa,fileid://file-fe-bbbbbbbbbbbbbbbbbbbbbbbb'), 'qwen-fileids')
})
