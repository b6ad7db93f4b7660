import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Mistral's chat completions take a file by id as a content chunk of its own, flat: `{type: "file", file_id}`
 * (`FileChunk` in `ContentChunk`, mistralai/client-python src/mistralai/client/models/contentchunk.py, beside
 * `document_url`), for a document uploaded to its Files API; the model reads the document (a PDF's pages, OCR'd
 * to text) and bills it as prompt tokens. The gateway read a `file` part's reference only nested, OpenAI's way
 * (`{type: "file", file: {file_id}}`: `partFile`, src/budget/part-media.ts): the flat chunk was taken for inline
 * media, held at its ~60 bytes or the media bound (4,096 tokens), not as a file by reference (with cap-output on,
 * the most PDF pages a request may carry, 300,000 tokens), so spend passed max_budget (SPEC §6). A `file` part
 * without a `file` field is now the file itself.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:mistral-medium-latest'
/** A 100-page report as Mistral reads it: ~600 tokens of text a page. */
const DOCUMENT_TOKENS = 60_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.4, output_per_million: 2 } },
  },
  (started) => ({ upstream, gw } = started),
)

const readsTheDocument = ({ body }: ScriptedCall) => {
  const parts = (body.messages as Array<{ content: unknown }>).flatMap((m) => (Array.isArray(m.content) ? m.content : []))
  const files = parts.filter((p: { type?: string }) => p.type === 'file').length
  const prompt = 20 + files * DOCUMENT_TOKENS
  const max = body.max_tokens ?? 16
  return jsonResponse({
    id: 'cmpl-m', object: 'chat.completion', created: 1, model: 'mistral-medium-latest',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Revenue grew 12%.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: max, total_tokens: prompt + max },
  })
}

const bodyWith = (file: Record<string, unknown>) => ({
  model: MODEL,
  max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What does the report say about revenue?' }, file] }],
})

test('control: a file by id in OpenAI\'s nested form keeps spend within max_budget', async () => {
  upstream.answer(readsTheDocument)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ type: 'file', file: { file_id: '8b3c9a4e-5f1d-4c2b-9e7a-1d2f3a4b5c6d' } }), 'mistral-nested')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('a file by id in Mistral\'s flat form ({type: "file", file_id}) never takes spend past max_budget', async () => {
  upstream.answer(readsTheDocument)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', bodyWith({ type: 'file', file_id: '8b3c9a4e-5f1d-4c2b-9e7a-1d2f3a4b5c6d' }), 'mistral-flat')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
