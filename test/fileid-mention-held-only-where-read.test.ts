import { expect, test } from 'bun:test'
import { estimateChat } from '../src/budget/estimate'
import { estimateOptionsFor } from '../src/budget/estimate-options'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A `fileid://` in a chat message's text is a file by reference only to a model that reads it so: DashScope's
 * Qwen-Long and Qwen-Doc family (qwen-long-fileid-held.test.ts), by the model's name or DashScope's own host. It was
 * held as one on every model: with cap-output on, at the row's whole context window, so a user asking GPT-4.1 (a
 * 1,047,576-token window at $2/M) a question about DashScope's API that quotes `fileid://…` was held $2.10 for ~30
 * tokens of text, and with a $1 budget refused 402 on every turn of that conversation, a refusal no client can avoid
 * (the text is the user's own). To GPT-4.1 the text is text.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gpt-4.1'

withScriptedGateway(
  {
    cap_output_tokens: true,
    clamp_output: true,
    pricing: { [MODEL]: { input_per_million: 2, output_per_million: 8, context_window_tokens: 1_047_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const answer = () =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4.1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Put it in a system message.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 60, completion_tokens: 8, total_tokens: 68 },
  })

const ask = async (name: string, question: string) => {
  const { secret } = await gw.userWithKey({ id: name, max_budget: 1 })
  const res = await fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 512, messages: [{ role: 'user', content: question }] }),
  })
  return { status: res.status, text: await res.text() }
}

test('control: a question about DashScope without the scheme is served to a $1 user', async () => {
  upstream.answer(answer)
  const { status, text } = await ask('fileid-control', 'With DashScope Qwen-Long, where do I put the id of an uploaded file?')
  expect(status, text).toBe(200)
})

test('a question that mentions fileid:// to a model that reads no such file is served to a $1 user', async () => {
  upstream.answer(answer)
  const { status, text } = await ask('fileid-mention', 'With DashScope Qwen-Long, where do I put "fileid://file-fe-123" for an uploaded file?')
  expect(status, text).toBe(200)
  expect(upstream.calls.length).toBe(1)
})

test('the models that read fileid://: Qwen-Long and Qwen-Doc by name (a router\'s prefix too), any model on DashScope\'s host', () => {
  const config = { default_max_output_tokens: 16, media_part_tokens: 4096, pdf_page_tokens: 3000, pdf_max_pages: 100, cap_output_tokens: true, template_overhead_tokens: 0 }
  const body = { model: 'm', messages: [{ role: 'system', content: 'fileid://file-fe-123' }] }
  const openai = { type: 'openai' as const, base_url: 'https://api.example.com/v1' }
  const held = (upstreamModel: string, provider = openai) => estimateChat(body, estimateOptionsFor(config, null, { upstreamModel, provider })).inputTokens
  const asText = held('gpt-4.1')
  expect(held('qwen-long')).toBeGreaterThanOrEqual(asText + 100 * 3000)
  expect(held('qwen-doc-turbo')).toBe(held('qwen-long'))
  expect(held('dashscope/qwen-long-latest')).toBe(held('qwen-long'))
  expect(held('qwen-plus', { type: 'openai', base_url: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' })).toBe(held('qwen-long'))
  expect(held('qwen-plus')).toBe(asText)
})
